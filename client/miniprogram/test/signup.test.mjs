// Who may sign up, against a real `wxlogin dev --signup-policy existing_only --phone-signup`: the
// no_account error and linkAccount(), phone login with the WeChat identity, chooseAvatar's upload,
// the privacy and quota errors, and the example page's flows.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { deflateSync } from 'node:zlib'
import vm from 'node:vm'
import { APPID, fakeWx, json, startStack } from './stack.mjs'

const { createWxLogin, WxLoginError, NoAccountError, PrivacyRequiredError, PhoneQuotaError } = createRequire(import.meta.url)('../dist/index.js')

const ADMIN = 'dev-admin-token-0123456789abcdef' // given to wxlogin dev as --admin-token
let stack
let n = 0
before(async () => {
  stack = await startStack(['--signup-policy', 'existing_only', '--phone-signup', '--admin-token', ADMIN])
})
after(async () => {
  if (stack) await stack.stop()
})

// withUpload gives a fake wx the wx.uploadFile of the real runtime: a multipart POST of the file.
function withUpload(fake) {
  fake.uploads = 0
  fake.uploadFile = ({ url, filePath, name, header = {}, success, fail }) => {
    fake.uploads++
    const form = new FormData()
    form.append(name, new Blob([readFileSync(filePath)]), 'tmp_avatar')
    fetch(url, { method: 'POST', headers: header, body: form }).then(
      async (r) => success({ statusCode: r.status, data: await r.text(), errMsg: 'uploadFile:ok' }),
      (e) => fail({ errMsg: 'uploadFile:fail ' + e.message }),
    )
  }
  return fake
}

function device() {
  const user = `s${process.pid}-${++n}`
  const fake = withUpload(fakeWx({ sim: stack.sim, user }))
  return { user, fake, client: () => createWxLogin({ baseURL: stack.server, wx: fake }) }
}

async function createUser(body) {
  const r = await json('POST', stack.server + '/admin/v1/users', body, ADMIN)
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return r.body
}

async function phoneEvent(user, phone) {
  const { body } = await json('POST', stack.sim + '/sim/phone', { appid: APPID, user, phone })
  return { detail: { errMsg: 'getPhoneNumber:ok', code: body.code } }
}

// A 2x2 PNG written to a temporary file: what chooseAvatar's avatarUrl points at.
function pngFile() {
  const crc = (buf) => {
    let c = ~0
    for (const b of buf) {
      c ^= b
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
    }
    return ~c >>> 0
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type), data])
    const c = Buffer.alloc(4)
    c.writeUInt32BE(crc(td))
    return Buffer.concat([len, td, c])
  }
  const ihdr = Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0])
  const raw = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 0])
  const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'binary'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
  const file = join(mkdtempSync(join(tmpdir(), 'wxlogin-avatar-')), 'tmp.png')
  writeFileSync(file, png)
  return file
}

describe('existing_only', () => {
  test('an unknown WeChat user gets NoAccountError; linkAccount with the password binds it', async () => {
    const { user, fake, client } = device()
    const c = client()
    await assert.rejects(c.login(), (e) => {
      assert.ok(e instanceof NoAccountError && e instanceof WxLoginError, String(e))
      assert.equal(e.code, 'no_account')
      assert.equal(e.status, 403)
      assert.ok(e.linkToken.length > 20)
      return true
    })
    assert.equal(c.user, null)
    const made = await createUser({ username: user, password: 'a long password' })
    const u = await c.linkAccount({ username: user, password: 'a long password' })
    assert.equal(u.id, made.id)
    assert.equal(c.user.id, made.id)
    // The WeChat identity is bound: the next silent login finds the account.
    const again = await client().login()
    assert.equal(again.id, made.id)
    assert.equal(fake.logins, 2)
  })

  test('linkAccount with a phone event binds it to the phone’s user', async () => {
    const { user, client } = device()
    const c = client()
    const phone = '139' + String(process.pid).padStart(4, '0').slice(-4) + String(n).padStart(4, '0')
    const made = await createUser({ phone })
    await assert.rejects(c.ensureLogin(), NoAccountError)
    const u = await c.linkAccount(await phoneEvent(user, phone))
    assert.equal(u.id, made.id)
    assert.equal((await client().login()).id, made.id)
  })

  test('linkAccount without a link token, or with a spent one, is refused', async () => {
    const { client } = device()
    await assert.rejects(client().linkAccount({ username: 'x', password: 'y' }), (e) => e.code == 'invalid_request')
    const d = device()
    const c = d.client()
    let token
    await assert.rejects(c.login(), (e) => ((token = e.linkToken), true))
    await createUser({ username: d.user, password: 'a long password' })
    await c.linkAccount({ username: d.user, password: 'a long password' }, token)
    await assert.rejects(c.linkAccount({ username: d.user, password: 'a long password' }, token), (e) => e.code == 'invalid_request')
  })

  test('loginByPhone: one tap binds this WeChat identity to the phone’s user', async () => {
    const { user, fake, client } = device()
    const phone = '137' + String(process.pid).padStart(4, '0').slice(-4) + String(n).padStart(4, '0')
    const made = await createUser({ phone })
    const c = client()
    const u = await c.loginByPhone(await phoneEvent(user, phone))
    assert.equal(u.id, made.id)
    assert.equal(fake.logins, 1, 'one wx.login for wx_code')
    assert.equal((await client().login()).id, made.id)
  })
})

describe('avatar', () => {
  test('chooseAvatar uploads the temporary file and sets avatar_url', async () => {
    const { user, fake, client } = device()
    await createUser({ username: user, password: 'a long password' })
    const c = client()
    await c.login().catch((e) => c.linkAccount({ username: user, password: 'a long password' }, e.linkToken))
    const u = await c.chooseAvatar({ detail: { avatarUrl: pngFile() } })
    assert.match(u.avatar_url, /\/v1\/avatars\/[0-9a-f]{64}\.png$/)
    assert.equal(c.user.avatar_url, u.avatar_url)
    assert.equal(fake.uploads, 1)
    const img = await fetch(u.avatar_url)
    assert.equal(img.status, 200)
    assert.equal(img.headers.get('content-type'), 'image/png')
    assert.equal(img.headers.get('x-content-type-options'), 'nosniff')
    // Not an image: the server's invalid_request.
    const bad = join(mkdtempSync(join(tmpdir(), 'wxlogin-avatar-')), 'x.png')
    writeFileSync(bad, '<html><script>alert(1)</script></html>')
    await assert.rejects(c.chooseAvatar({ detail: { avatarUrl: bad } }), (e) => e.code == 'invalid_request' && e.status == 400)
    await assert.rejects(c.chooseAvatar({ detail: {} }), (e) => e.code == 'invalid_request')
  })
})

describe('client API errors', () => {
  test('privacy (errno 104/112) and quota (errno 1400001) are typed, and nothing is sent', async () => {
    const { fake, client } = device()
    const c = client()
    await assert.rejects(c.getPhoneNumber({ detail: { errMsg: 'getPhoneNumber:fail privacy permission is not authorized', errno: 112 } }), (e) => {
      assert.ok(e instanceof PrivacyRequiredError)
      assert.equal(e.code, 'privacy_required')
      assert.equal(e.errno, 112)
      return true
    })
    await assert.rejects(c.loginByPhone({ detail: { errMsg: 'getPhoneNumber:fail', errno: 1400001 } }), (e) => e instanceof PhoneQuotaError && e.code == 'phone_quota')
    await assert.rejects(c.linkAccount({ detail: { errno: 104 } }, 'token'), (e) => e.code == 'privacy_required')
    assert.equal(fake.events.length, 0)
    fake.login = ({ fail }) => fail({ errMsg: 'login:fail api scope is not declared in the privacy agreement', errno: 104 })
    await assert.rejects(c.login(), (e) => e instanceof PrivacyRequiredError)
  })

  test('requirePrivacyAuthorize resolves when agreed or unsupported, rejects when refused', async () => {
    const { fake, client } = device()
    await client().requirePrivacyAuthorize() // no wx.requirePrivacyAuthorize: nothing to ask
    fake.requirePrivacyAuthorize = ({ success }) => success()
    await client().requirePrivacyAuthorize()
    fake.requirePrivacyAuthorize = ({ fail }) => fail({ errMsg: 'requirePrivacyAuthorize:fail user deny' })
    await assert.rejects(client().requirePrivacyAuthorize(), (e) => e instanceof PrivacyRequiredError)
  })
})

describe('example mini program', () => {
  // The example's app.js and page in a bare sandbox, the SDK loaded there too (see client.test.mjs).
  function loadExample(fake) {
    const example = new URL('../../../examples/miniprogram/', import.meta.url)
    let app
    let page
    const ctx = vm.createContext({ wx: fake, console, setTimeout, App: (o) => (app = o), Page: (o) => (page = o), getApp: () => app })
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
    const instance = Object.assign(Object.create(page), { data: { ...page.data }, setData(d) { Object.assign(this.data, d) } })
    return { app, page: instance }
  }

  test('no account, link by password, choose an avatar, privacy refused', async () => {
    const { user, fake } = device()
    const { app, page } = loadExample(fake)
    page.onLoad()
    await page.onLogin()
    assert.equal(page.data.needLink, true)
    assert.match(page.data.message, /No account/)
    const made = await createUser({ username: user, password: 'a long password' })
    await page.onLinkPassword({ detail: { value: { username: user, password: 'a long password' } } })
    assert.equal(page.data.message, '')
    assert.equal(page.data.needLink, false)
    assert.equal(page.data.user.id, made.id)
    assert.equal(app.auth.user.id, made.id)

    await page.onChooseAvatar({ detail: { avatarUrl: pngFile() } })
    assert.match(page.data.user.avatar_url, /\/v1\/avatars\//)

    await page.onPhone({ detail: { errMsg: 'getPhoneNumber:fail privacy', errno: 104 } })
    assert.equal(page.data.message, 'Please agree to the privacy guide first.')
    await page.onPhoneLogin({ detail: { errMsg: 'getPhoneNumber:fail', errno: 1400001 } })
    assert.match(page.data.message, /unavailable/)
    page.onUnload()
  })

  test('no account, link by the phone button', async () => {
    const { user, fake } = device()
    const { page } = loadExample(fake)
    page.onLoad()
    const phone = '136' + String(process.pid).padStart(4, '0').slice(-4) + String(n).padStart(4, '0')
    const made = await createUser({ phone })
    await page.onLogin()
    assert.equal(page.data.needLink, true)
    await page.onPhone(await phoneEvent(user, phone))
    assert.equal(page.data.message, '')
    assert.equal(page.data.user.id, made.id)
    page.onUnload()
  })
})
