// The client (compiled dist/index.js) against a real `wxlogin dev` stack: a fake wx whose login asks
// the simulator and whose request is real HTTP.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import vm from 'node:vm'
import { APPID, closedURL, fakeWx, json, startStack } from './stack.mjs'

const { createWxLogin, WxLoginError, TapAgainError } = createRequire(import.meta.url)('../dist/index.js')

let stack
let n = 0
before(async () => {
  stack = await startStack()
})
after(async () => {
  if (stack) await stack.stop()
})

// device returns a fake wx for a new device user and a client factory over the same storage.
function device(opts = {}) {
  const fake = fakeWx({ sim: stack.sim, user: `u${process.pid}-${++n}` })
  const client = (more = {}) => createWxLogin({ baseURL: opts.baseURL || stack.server, wx: fake, ...more })
  return { fake, client }
}

const me = { url: '/v1/me' }
const rejectsWith = (p, code) =>
  assert.rejects(p, (e) => {
    assert.ok(e instanceof WxLoginError, `want WxLoginError, got ${e}`)
    assert.equal(e.code, code, e.message)
    return true
  })

describe('login', () => {
  test('concurrent requests while logged out cause one wx.login and one login request', async () => {
    const { fake, client } = device()
    const c = client()
    const seen = []
    c.onChange((u) => seen.push(u && u.id))
    const rs = await Promise.all(Array.from({ length: 12 }, () => c.request(me)))
    assert.equal(fake.logins, 1)
    assert.equal(fake.posts('/v1/login/wechat'), 1)
    const ids = new Set(rs.map((r) => r.data.id))
    assert.equal(ids.size, 1)
    assert.equal(c.user.id, [...ids][0])
    assert.deepEqual(seen, [c.user.id])
    // Also through ensureLogin and login racing each other.
    const d = device().client()
    await Promise.all([d.ensureLogin(), d.ensureLogin(), d.request(me), d.getAccessToken()])
  })

  test('ensureLogin and login() share the one in-flight login', async () => {
    const { fake, client } = device()
    const c = client()
    const [a, b, r] = await Promise.all([c.login(), c.ensureLogin(), c.request(me)])
    assert.equal(a.id, b.id)
    assert.equal(r.data.id, a.id)
    assert.equal(fake.logins, 1)
  })

  test('a refused code gets exactly one fresh code', async () => {
    const { fake, client } = device()
    fake.badCodes = 1
    const u = await client().login()
    assert.ok(u.id)
    assert.equal(fake.logins, 2)
    assert.equal(fake.posts('/v1/login/wechat'), 2)

    const two = device()
    two.fake.badCodes = 2
    await rejectsWith(two.client().ensureLogin(), 'invalid_code')
    assert.equal(two.fake.logins, 2, 'no more than one retry')
    assert.equal(two.fake.posts('/v1/login/wechat'), 2)
  })

  test('the login state survives a restart and holds no session_key', async () => {
    const { fake, client } = device()
    const first = await client().ensureLogin()
    const s = fake.stored
    assert.deepEqual(Object.keys(s).sort(), ['access_token', 'expires_at', 'refresh_token', 'session_id', 'user'])
    assert.doesNotMatch(JSON.stringify(s), /session_key|secret/i)

    const restarted = client()
    assert.equal(restarted.user.id, first.id, 'user known before any call')
    const r = await restarted.request(me)
    assert.equal(r.data.id, first.id)
    assert.equal(fake.logins, 1, 'no wx.login after the restart')
    assert.equal(fake.count((e) => e.type == 'checkSession'), 1, 'wx.checkSession once per launch')
  })

  test('after a restart, an expired WeChat session (wx.checkSession fails) means a fresh login', async () => {
    const { fake, client } = device()
    const first = await client().ensureLogin()
    fake.sessionValid = false
    const c = client()
    await Promise.all([c.request(me), c.request(me)])
    assert.equal(fake.logins, 2)
    assert.equal(c.user.id, first.id, 'same WeChat user, same account')
    await c.request(me)
    assert.equal(fake.count((e) => e.type == 'checkSession'), 1)
  })
})

describe('tokens', () => {
  test('a rejected access token is refreshed once for any number of concurrent requests', async () => {
    const { fake, client } = device()
    await client().ensureLogin()
    const before = fake.stored
    fake.store({ ...before, access_token: before.access_token.slice(0, -6) + 'AAAAAA' })
    const c = client()
    const rs = await Promise.all(Array.from({ length: 8 }, () => c.request(me)))
    rs.forEach((r) => assert.equal(r.statusCode, 200))
    assert.equal(fake.posts('/v1/token/refresh'), 1)
    assert.equal(fake.logins, 1, 'no new wx.login')
    const after = fake.stored
    assert.notEqual(after.refresh_token, before.refresh_token)
    assert.equal(after.session_id, before.session_id)
  })

  test('an access token about to expire is refreshed before it is sent', async () => {
    const { fake, client } = device()
    await client().ensureLogin()
    fake.store({ ...fake.stored, expires_at: Date.now() - 1000 })
    const c = client()
    await c.request(me)
    assert.equal(fake.posts('/v1/token/refresh'), 1)
    const meCalls = fake.events.filter((e) => e.type == 'request' && e.url.endsWith('/v1/me'))
    assert.equal(meCalls.length, 1, 'the request went out once, with the fresh token')
    assert.ok(fake.stored.expires_at > Date.now() + 60000)
  })

  test('a spent refresh token: the client logs in again and the request succeeds', async () => {
    const { fake, client } = device()
    const u = await client().ensureLogin()
    const s = fake.stored
    // Someone else (a stolen copy) uses the refresh token first: the server will treat the
    // client's use as reuse and revoke the session.
    assert.equal((await json('POST', stack.server + '/v1/token/refresh', { refresh_token: s.refresh_token })).status, 200)
    fake.store({ ...s, access_token: 'not-a-token' })
    const c = client()
    const r = await c.request(me)
    assert.equal(r.data.id, u.id)
    assert.equal(fake.posts('/v1/token/refresh'), 1)
    assert.equal(fake.logins, 2)
    assert.equal(fake.posts('/v1/login/wechat'), 2)
    assert.notEqual(fake.stored.session_id, s.session_id)
  })

  test('a revoked session (401 on the request and on the refresh) logs in again for concurrent requests once', async () => {
    const { fake, client } = device()
    const c = client()
    await c.ensureLogin()
    const s = fake.stored
    // Revoke the session behind the client's back.
    assert.equal((await json('POST', stack.server + '/v1/logout', undefined, s.access_token)).status, 204)
    const rs = await Promise.all(Array.from({ length: 6 }, () => c.request(me)))
    rs.forEach((r) => assert.equal(r.data.id, s.user.id))
    assert.equal(fake.posts('/v1/token/refresh'), 1)
    assert.equal(fake.logins, 2)
    assert.equal(fake.posts('/v1/login/wechat'), 2)
  })
})

describe('phone', () => {
  test('getPhoneNumber with a code: no wx.login, the user gets the phone', async () => {
    const { fake, client } = device()
    const c = client()
    const u = await c.ensureLogin()
    const changes = []
    c.onChange((x) => changes.push(x))
    const { body } = await json('POST', stack.sim + '/sim/phone', { appid: APPID, user: `u${process.pid}-${n}`, phone: '13580006666' })
    const got = await c.getPhoneNumber({ detail: { errMsg: 'getPhoneNumber:ok', code: body.code } })
    assert.equal(got.id, u.id)
    assert.equal(got.phone, '13580006666')
    assert.equal(c.user.phone, '13580006666')
    assert.equal(fake.stored.user.phone, '13580006666')
    assert.equal(changes.length, 1)
    assert.equal(fake.logins, 1)
  })

  test('legacy encrypted data is sent without a wx.login before it', async () => {
    const { fake, client } = device()
    const c = client()
    await c.ensureLogin()
    const user = `u${process.pid}-${n}`
    // Encrypted under the session_key the server holds (user info stands in for a phone number:
    // the simulator encrypts only user info, and the SDK cannot tell the difference).
    const { body } = await json('POST', stack.sim + '/sim/userinfo', { appid: APPID, user })
    const mark = fake.events.length
    // Expire the stored access token too: renewal must use the refresh token, not wx.login.
    fake.store({ ...fake.stored, expires_at: 0 })
    const d = client()
    await rejectsWith(d.getPhoneNumber({ detail: { errMsg: 'getPhoneNumber:ok', encryptedData: body.encryptedData, iv: body.iv } }), 'upstream_error')
    const events = fake.events.slice(mark)
    assert.equal(events.filter((e) => e.type == 'login').length, 0, 'no wx.login anywhere in the flow')
    assert.deepEqual(
      events.map((e) => (e.type == 'request' ? new URL(e.url).pathname : e.type)),
      ['/v1/token/refresh', '/v1/me/phone'],
    )
  })

  test('legacy data under a replaced session_key: one re-login and a TapAgainError', async () => {
    const { fake, client } = device()
    const c = client()
    await c.ensureLogin()
    const user = `u${process.pid}-${n}`
    // Something else on the device called wx.login: WeChat replaced the key, the server has the old one.
    await json('POST', stack.sim + '/sim/login', { appid: APPID, user })
    const { body } = await json('POST', stack.sim + '/sim/userinfo', { appid: APPID, user })
    const mark = fake.events.length
    await assert.rejects(c.getPhoneNumber({ detail: { encryptedData: body.encryptedData, iv: body.iv } }), (e) => {
      assert.ok(e instanceof TapAgainError)
      assert.ok(e instanceof WxLoginError)
      assert.equal(e.code, 'session_key_stale')
      assert.equal(e.status, 409)
      return true
    })
    const events = fake.events.slice(mark).map((e) => (e.type == 'request' ? new URL(e.url).pathname : e.type))
    assert.deepEqual(events, ['/v1/me/phone', 'login', '/v1/login/wechat'], 'sent first, then one re-login')
    // The user taps again: fresh data under the key the server now holds decrypts (and, being
    // user info rather than a phone number, is refused for its content, not as stale).
    const again = await json('POST', stack.sim + '/sim/userinfo', { appid: APPID, user })
    await rejectsWith(c.getPhoneNumber({ detail: { encryptedData: again.body.encryptedData, iv: again.body.iv } }), 'upstream_error')
    assert.equal(fake.logins, 2)
  })

  test('a denied phone button is a typed error and sends nothing', async () => {
    const { fake, client } = device()
    await rejectsWith(client().getPhoneNumber({ detail: { errMsg: 'getPhoneNumber:fail user deny' } }), 'phone_denied')
    assert.equal(fake.events.length, 0)
  })
})

describe('account and profile', () => {
  test('bindAccount logs in as the business account; a wrong password is typed', async () => {
    const { fake, client } = device()
    const c = client()
    await c.ensureLogin()
    const username = `biz${process.pid}x${n}`
    const account = await json('POST', stack.server + '/v1/accounts', { username, password: 'correct horse' })
    assert.equal(account.status, 201)
    await rejectsWith(c.bindAccount(username, 'wrong password'), 'invalid_credentials')
    const u = await c.bindAccount(username, 'correct horse')
    assert.equal(u.id, account.body.id)
    assert.equal(u.username, username)
    assert.deepEqual(u.identities.map((i) => i.appid), [APPID])
    assert.equal(c.user.username, username)
    assert.equal((await c.request(me)).data.username, username)
    assert.equal(fake.stored.user.username, username)
  })

  test('updateProfile sets nickname and avatar', async (t) => {
    const { client } = device()
    const c = client()
    await c.ensureLogin()
    try {
      const u = await c.updateProfile({ nickname: 'Ada', avatarUrl: 'https://example.com/a.png' })
      assert.equal(u.nickname, 'Ada')
      assert.equal(u.avatar_url, 'https://example.com/a.png')
      assert.equal(c.user.nickname, 'Ada')
      assert.equal((await c.reloadUser()).nickname, 'Ada')
    } catch (e) {
      // wx.request cannot send PATCH; the server must accept POST /v1/me as well.
      if (e instanceof WxLoginError && e.status == 405) return t.todo('server lacks POST /v1/me (wx.request has no PATCH)')
      throw e
    }
  })

  test('a failed request carries the server code, status and request id', async () => {
    const { client } = device()
    const c = client()
    await assert.rejects(c.request({ url: '/v1/me/sessions/nope', method: 'DELETE' }), (e) => {
      assert.ok(e instanceof WxLoginError)
      assert.equal(e.code, 'not_found')
      assert.equal(e.status, 404)
      assert.match(e.requestId, /\w+/)
      return true
    })
  })
})

describe('logout', () => {
  test('logout revokes the session, clears storage and tells listeners', async () => {
    const { fake, client } = device()
    const c = client()
    await c.ensureLogin()
    const s = fake.stored
    const seen = []
    c.onChange((u) => seen.push(u))
    await c.logout()
    assert.equal(c.user, null)
    assert.equal(fake.stored, undefined)
    assert.deepEqual(seen, [null])
    assert.equal((await json('GET', stack.server + '/v1/me', undefined, s.access_token)).status, 401)
    assert.equal(client().user, null, 'a restart after logout is logged out')
    // The next call logs in again, into a new session.
    await c.request(me)
    assert.notEqual(fake.stored.session_id, s.session_id)
    assert.equal(fake.logins, 2)
  })
})

describe('failures', () => {
  test('server down: a typed network error per call, one attempt each, no retry storm', async () => {
    const { fake, client } = device({ baseURL: await closedURL() })
    const c = client()
    const all = await Promise.allSettled(Array.from({ length: 10 }, () => c.request(me)))
    for (const r of all) {
      assert.equal(r.status, 'rejected')
      assert.ok(r.reason instanceof WxLoginError)
      assert.equal(r.reason.code, 'network')
      assert.equal(r.reason.status, 0)
    }
    assert.equal(fake.logins, 1)
    assert.equal(fake.count((e) => e.type == 'request'), 1)
    await rejectsWith(c.request(me), 'network')
    assert.equal(fake.count((e) => e.type == 'request'), 2, 'a later call tries again, once')
  })

  test('server overloaded: a typed overloaded error with Retry-After, not retried', async (t) => {
    // A server that answers every request the way wxlogin's in-flight cap does (503 + Retry-After).
    const { createServer } = await import('node:http')
    const busy = createServer((req, res) => {
      res.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '2', 'X-Request-Id': 'req-busy' })
      res.end(JSON.stringify({ error: { code: 'overloaded', message: 'the server is overloaded; try again shortly' }, request_id: 'req-busy' }))
    })
    await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve))
    t.after(() => busy.close())
    const { fake, client } = device({ baseURL: `http://127.0.0.1:${busy.address().port}` })
    await assert.rejects(client().request(me), (e) => {
      assert.ok(e instanceof WxLoginError)
      assert.equal(e.code, 'overloaded')
      assert.equal(e.status, 503)
      assert.equal(e.retryAfter, 2)
      assert.equal(e.requestId, 'req-busy')
      return true
    })
    assert.equal(fake.posts('/v1/login/wechat'), 1, 'not retried')
  })

  test('WeChat unavailable: upstream_unavailable with Retry-After, not retried; works once WeChat is back', async () => {
    const { fake, client } = device()
    const c = client()
    assert.equal((await json('POST', stack.sim + '/sim/faults', { path: '/sns/jscode2session', errcode: -1 })).status, 200)
    try {
      await assert.rejects(Promise.all([c.request(me), c.ensureLogin()]), (e) => {
        assert.equal(e.code, 'upstream_unavailable')
        assert.equal(e.status, 503)
        assert.ok(e.retryAfter > 0, 'retryAfter from the Retry-After header')
        return true
      })
      assert.equal(fake.posts('/v1/login/wechat'), 1)
    } finally {
      await json('DELETE', stack.sim + '/sim/faults')
    }
    assert.ok((await c.request(me)).data.id)
    assert.equal(fake.logins, 2)
  })
})

describe('example mini program', () => {
  // Runs examples/miniprogram's app.js and page in a bare sandbox (no Node globals) with the SDK
  // loaded there too, the fake wx as the global `wx`, and App/Page/getApp as the runtime gives them.
  function loadExample(fake) {
    const example = new URL('../../../examples/miniprogram/', import.meta.url)
    let app
    let page
    const ctx = vm.createContext({
      wx: fake,
      console,
      setTimeout,
      App: (o) => (app = o),
      Page: (o) => (page = o),
      getApp: () => app,
    })
    const modules = new Map()
    const run = (file, req) => {
      const module = { exports: {} }
      vm.runInContext(`(function (module, exports, require) {${readFileSync(file, 'utf8')}\n})`, ctx)(module, module.exports, req)
      return module.exports
    }
    const req = (spec) => {
      if (spec == '@wxlogin/miniprogram') {
        if (!modules.has(spec)) modules.set(spec, run(new URL('../dist/index.js', import.meta.url), req))
        return modules.get(spec)
      }
      if (spec == './config') return { baseURL: stack.server }
      throw new Error('unexpected require ' + spec)
    }
    run(new URL('app.js', example), req)
    run(new URL('pages/index/index.js', example), req)
    const instance = Object.assign(Object.create(page), {
      data: { ...page.data },
      setData(d) {
        Object.assign(this.data, d)
      },
    })
    return { app, page: instance }
  }

  test('launch, request, phone, logout through the example page', async () => {
    const fake = fakeWx({ sim: stack.sim, user: `u${process.pid}-${++n}` })
    const { app, page } = loadExample(fake)
    app.onLaunch()
    page.onLoad()
    await page.onLoadSessions()
    assert.equal(page.data.message, '')
    assert.equal(page.data.sessions.length, 1)
    assert.equal(fake.logins, 1, 'the launch login and the page request share one wx.login')
    assert.equal(page.data.user.id, app.auth.user.id)

    const { body } = await json('POST', stack.sim + '/sim/phone', { appid: APPID, user: `u${process.pid}-${n}`, phone: '13700001111' })
    await page.onPhone({ detail: { errMsg: 'getPhoneNumber:ok', code: body.code } })
    assert.equal(page.data.user.phone, '13700001111')
    await page.onPhone({ detail: { errMsg: 'getPhoneNumber:fail user deny' } })
    assert.equal(page.data.message, 'No phone number shared.')

    await page.onLogout()
    assert.equal(page.data.user, null)
    assert.equal(fake.stored, undefined)
    page.onUnload()
    assert.equal(fake.logins, 1)
  })
})

describe('qrLogin (a website logged in by scanning a mini-program code)', () => {
  // browser starts a QR login as a website page would, and returns its request and a poller.
  async function browser() {
    const r = await json('POST', stack.server + '/v1/qr-login', { appid: APPID })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    const poll = (since) => json('POST', `${stack.server}/v1/qr-login/${r.body.id}/poll`, since ? { poll_token: r.body.poll_token, since } : { poll_token: r.body.poll_token })
    return { ...r.body, poll }
  }
  // scanned plays the device user scanning the code: the page's decodeURIComponent(options.scene).
  async function scanned(user, image) {
    const r = await json('POST', stack.sim + '/sim/scan', { appid: APPID, user, image })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.page, 'pages/qr-login/index')
    return decodeURIComponent(r.body.scene)
  }

  test('scan shows the requester, confirm logs the website in as the same user', async () => {
    const { fake, client } = device()
    const name = `u${process.pid}-${n}` // the device user of fake
    const c = client()
    const user = await c.login()
    const site = await browser()
    const scene = await scanned(name, site.image)
    const who = await c.qrLogin.scan(scene)
    assert.equal(who.ip, '127.0.0.1')
    assert.match(who.user_agent, /node/i)
    assert.ok(Date.parse(who.created_at) > 0)
    let p = await site.poll('pending')
    assert.equal(p.body.status, 'scanned')
    assert.equal(p.body.login, undefined)
    assert.equal(await c.qrLogin.confirm(scene), undefined)
    p = await site.poll('scanned')
    assert.equal(p.body.status, 'confirmed')
    assert.equal(p.body.login.user.id, user.id)
    assert.notEqual(p.body.login.session_id, fake.stored.session_id)
    await rejectsWith(c.qrLogin.confirm(scene), 'conflict')
  })

  test('deny, and another user cannot take a scanned code', async () => {
    const a = device()
    const name = `u${process.pid}-${n}` // the device user of a
    const b = device()
    const ca = a.client()
    const cb = b.client()
    await ca.login()
    const site = await browser()
    const scene = await scanned(name, site.image)
    await ca.qrLogin.scan(scene)
    await rejectsWith(cb.qrLogin.scan(scene), 'conflict')
    await rejectsWith(cb.qrLogin.confirm(scene), 'forbidden')
    await ca.qrLogin.deny(scene)
    assert.equal((await site.poll('scanned')).body.status, 'denied')
    await rejectsWith(ca.qrLogin.scan(scene), 'expired')
    await rejectsWith(ca.qrLogin.scan('NoSuchScene'), 'not_found')
  })
})
