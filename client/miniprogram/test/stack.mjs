// Test support: a real `wxlogin dev` stack on free ports, and a fake `wx` whose login asks the
// stack's WeChat simulator and whose request performs real HTTP.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const APPID = 'wx1234567890abcdef'
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

// startStack builds cmd/wxlogin and runs `wxlogin dev` (with devArgs) on free ports; stop() ends it.
export async function startStack(devArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-sdk-'))
  const bin = join(dir, 'wxlogin')
  execFileSync('go', ['build', '-o', bin, './cmd/wxlogin'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] })
  const child = spawn(bin, ['dev', '--addr', '127.0.0.1:0', '--sim-addr', '127.0.0.1:0', '--db', join(dir, 'dev.db'), ...devArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let errOut = ''
  child.stderr.on('data', (b) => (errOut = (errOut + b).slice(-4000)))
  const urls = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('wxlogin dev did not start in 20s:\n' + out + errOut)), 20000)
    child.on('exit', (code) => reject(new Error(`wxlogin dev exited (${code}):\n${out}${errOut}`)))
    child.stdout.on('data', (b) => {
      out += b
      const server = /server\s+(http:\/\/\S+)/.exec(out)
      const sim = /WeChat simulator\s+(http:\/\/\S+)/.exec(out)
      if (server && sim) {
        clearTimeout(timer)
        resolve({ server: server[1], sim: sim[1] })
      }
    })
  })
  child.stdout.resume()
  return {
    ...urls,
    async stop() {
      child.removeAllListeners('exit')
      const gone = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))])
      if (child.exitCode === null) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

// freeClosedPort returns a base URL on which nothing listens.
export async function closedURL() {
  const srv = createServer()
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  const { port } = srv.address()
  await new Promise((r) => srv.close(r))
  return `http://127.0.0.1:${port}`
}

// json sends a JSON request with fetch and returns {status, body}.
export async function json(method, url, body, token) {
  const headers = { 'Content-Type': 'application/json' }
  if (token) headers.Authorization = 'Bearer ' + token
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await r.text()
  return { status: r.status, body: text ? JSON.parse(text) : null }
}

// fakeWx plays one device user of APPID. Its storage is a Map (pass one to share it across
// "restarts"); it records every wx.login, wx.checkSession and wx.request in `events`.
export function fakeWx({ sim, user, storage = new Map() }) {
  const fake = {
    storage,
    events: [], // {type: 'login'} | {type: 'checkSession'} | {type: 'request', method, url}
    badCodes: 0, // the next N wx.login calls give a code WeChat refuses
    sessionValid: true, // what wx.checkSession says
    count(pred) {
      return this.events.filter(pred).length
    },
    get logins() {
      return this.count((e) => e.type == 'login')
    },
    posts(path) {
      return this.count((e) => e.type == 'request' && e.method == 'POST' && new URL(e.url).pathname == path)
    },
    get stored() {
      const v = storage.get('wxlogin')
      return v === undefined ? undefined : JSON.parse(v)
    },
    store(v) {
      storage.set('wxlogin', JSON.stringify(v))
    },

    login({ success, fail }) {
      fake.events.push({ type: 'login' })
      json('POST', sim + '/sim/login', { appid: APPID, user }).then(
        (r) => {
          if (r.status != 200) return fail({ errMsg: 'login:fail ' + JSON.stringify(r.body) })
          if (fake.badCodes > 0) {
            fake.badCodes--
            return success({ code: '0' + r.body.code.slice(1).split('').reverse().join(''), errMsg: 'login:ok' })
          }
          success({ code: r.body.code, errMsg: 'login:ok' })
        },
        (e) => fail({ errMsg: 'login:fail ' + e.message }),
      )
    },
    checkSession({ success, fail }) {
      fake.events.push({ type: 'checkSession' })
      setTimeout(() => (fake.sessionValid ? success({ errMsg: 'checkSession:ok' }) : fail({ errMsg: 'checkSession:fail session time out' })), 1)
    },
    request({ url, method = 'GET', data, header = {}, success, fail }) {
      fake.events.push({ type: 'request', method, url })
      const headers = { ...header }
      let body
      if (data !== undefined && method != 'GET') {
        body = typeof data == 'string' ? data : JSON.stringify(data)
        if (!Object.keys(headers).some((k) => k.toLowerCase() == 'content-type')) headers['content-type'] = 'application/json'
      }
      fetch(url, { method, headers, body }).then(
        async (r) => {
          const text = await r.text()
          let parsed = text
          try {
            parsed = JSON.parse(text)
          } catch {}
          success({ data: parsed, statusCode: r.status, header: Object.fromEntries(r.headers), cookies: [], errMsg: 'request:ok' })
        },
        (e) => fail({ errMsg: 'request:fail ' + (e.cause ? e.cause.code : e.message), errno: 600001 }),
      )
      return { abort() {} }
    },
    // Storage keeps copies, like wx's.
    getStorageSync(key) {
      const v = storage.get(key)
      return v === undefined ? '' : JSON.parse(v)
    },
    setStorageSync(key, v) {
      storage.set(key, JSON.stringify(v))
    },
    removeStorageSync(key) {
      storage.delete(key)
    },
  }
  return fake
}
