/// <reference types="miniprogram-api-typings" preserve="true" />
import { clientError, NoAccountError, TapAgainError, WxLoginError } from './errors'

export { NoAccountError, PhoneQuotaError, PrivacyRequiredError, TapAgainError, WxLoginError } from './errors'
export type { ClientErrorCode, ErrorCode, ServerErrorCode } from './errors'

/**
 * The parts of `wx` the client uses. The real `wx` satisfies it; uni-app (`uni`), Taro or a test can
 * pass their own. `checkSession` is optional: without it the stored login state is trusted.
 */
export interface WxApi {
  login(option: WechatMiniprogram.LoginOption): unknown
  request(option: WechatMiniprogram.RequestOption): unknown
  checkSession?(option: WechatMiniprogram.CheckSessionOption): unknown
  getStorageSync(key: string): any
  setStorageSync(key: string, data: any): void
  removeStorageSync(key: string): void
  /** For chooseAvatar. */
  uploadFile?(option: WechatMiniprogram.UploadFileOption): unknown
  /** For requirePrivacyAuthorize (base library 2.32.3+). */
  requirePrivacyAuthorize?(option: { success?: () => void; fail?: (e: any) => void }): unknown
}

/** A getPhoneNumber button's event (`bindgetphonenumber`). */
export type PhoneEvent = { detail: Partial<WechatMiniprogram.ButtonGetPhoneNumber['detail']> & { errno?: number } }

/** A user as wxlogin returns it (GET /v1/me). */
export interface User {
  id: string
  username?: string
  nickname: string
  avatar_url: string
  unionid?: string
  phone?: string
  phone_country_code?: string
  identities?: { appid: string; openid: string; unionid?: string; kind?: 'miniprogram' | 'official_account' | 'website' | 'mobile_app'; created_at: string }[]
  created_at: string
}

export interface Options {
  /** wxlogin's address, e.g. `https://login.example.com` (paths such as `/v1/me` are joined to it). */
  baseURL: string
  /** The mini program's appid; may be left out when the server serves one app. */
  appid?: string
  /** Storage key of the login state (default `wxlogin`). */
  storageKey?: string
  /** Defaults to the global `wx`. */
  wx?: WxApi
}

/** wx.request's options without the callbacks; `url` may be a path on baseURL. */
export type RequestOptions = Omit<WechatMiniprogram.RequestOption, 'success' | 'fail' | 'complete'>
export type Response = WechatMiniprogram.RequestSuccessCallbackResult

export interface WxLogin {
  /** The logged-in user, or null. */
  readonly user: User | null
  /** Logs in now with a fresh wx.login code; with credentials, binds this WeChat identity to that account. */
  login(credentials?: { username?: string; password?: string }): Promise<User>
  /** The user, from the stored login state when it is usable, else after a silent login. */
  ensureLogin(): Promise<User>
  /** A current access token (ensureLogin, refreshing when it is about to expire). */
  getAccessToken(): Promise<string>
  /** wx.request with the access token; a 2xx resolves, anything else rejects with WxLoginError. */
  request<T = any>(options: RequestOptions): Promise<Response & { data: T }>
  /** Ends this session on the server and forgets it here (the local state is cleared even when the server is unreachable). */
  logout(): Promise<void>
  /** Binds this WeChat identity to a business account and logs in as it. */
  bindAccount(username: string, password: string): Promise<User>
  /** Verifies the phone number from `<button open-type="getPhoneNumber" bindgetphonenumber>`'s event. */
  getPhoneNumber(event: PhoneEvent): Promise<User>
  /**
   * Logs in with the phone number of a getPhoneNumber event (phone-first sign-up when the server
   * has it on), binding this WeChat identity too (a fresh wx.login code): one tap, one user.
   */
  loginByPhone(event: PhoneEvent): Promise<User>
  /**
   * After a NoAccountError: binds this WeChat identity to an existing account, proven by its
   * username and password or by a getPhoneNumber event, and logs in as it.
   */
  linkAccount(proof: { username: string; password: string } | PhoneEvent, linkToken?: string): Promise<User>
  /** Uploads the avatar of `<button open-type="chooseAvatar" bindchooseavatar>`'s event and sets it. */
  chooseAvatar(event: { detail: { avatarUrl?: string } }): Promise<User>
  /** Asks for the user's agreement to the privacy guide (wx.requirePrivacyAuthorize); rejects with PrivacyRequiredError. */
  requirePrivacyAuthorize(): Promise<void>
  /** Sets nickname and/or avatar (from the nickname/avatar fill-in components). */
  updateProfile(profile: { nickname?: string; avatarUrl?: string }): Promise<User>
  /** Reloads the user from the server. */
  reloadUser(): Promise<User>
  /** Calls listener with the user (or null) whenever it changes; returns the unsubscribe function. */
  onChange(listener: (user: User | null) => void): () => void
}

interface State {
  access_token: string
  refresh_token: string
  expires_at: number // ms since epoch, by this device's clock
  session_id: string
  user: User
}

// always runs f once p settles (Promise.prototype.finally is ES2018, newer than some base libraries).
function always<T>(p: Promise<T>, f: () => void): Promise<T> {
  return p.then(
    (v) => (f(), v),
    (e) => {
      f()
      throw e
    },
  )
}

// Refresh this long before the access token expires, so a request does not race the expiry.
const SKEW_MS = 60000

/** Creates the client. It never holds an app secret or a session_key: the server keeps both. */
export function createWxLogin(opts: Options): WxLogin {
  const w: WxApi | undefined = opts.wx || (typeof wx != 'undefined' ? wx : undefined)
  if (!w) throw new Error('wxlogin: no wx object: pass options.wx')
  if (!opts.baseURL) throw new Error('wxlogin: baseURL is required')
  if ('secret' in opts || 'appSecret' in opts) throw new Error('wxlogin: never ship the app secret in a mini program; it belongs on the server')
  const base = opts.baseURL.replace(/\/+$/, '')
  const key = opts.storageKey || 'wxlogin'
  const listeners: ((u: User | null) => void)[] = []
  let state = load()
  let checked = false // wx.checkSession consulted in this launch
  let loginP: Promise<State> | null = null
  let refreshP: Promise<State> | null = null
  let ensureP: Promise<State> | null = null
  let linkToken = '' // of the last NoAccountError

  function load(): State | null {
    try {
      const s = w!.getStorageSync(key)
      if (s && typeof s.access_token == 'string' && typeof s.refresh_token == 'string' && s.user) return s
    } catch (e) {
      // unreadable storage: log in again
    }
    return null
  }

  function set(s: State | null) {
    const before = JSON.stringify(state && state.user)
    state = s
    try {
      if (s) w!.setStorageSync(key, s)
      else w!.removeStorageSync(key)
    } catch (e) {
      // storage full or unavailable: the state lives in memory for this launch
    }
    const u = s && s.user
    if (JSON.stringify(u) != before) {
      for (const l of listeners.slice()) {
        try {
          l(u)
        } catch (e) {
          console.error('wxlogin: onChange listener', e)
        }
      }
    }
  }

  function setUser(u: User): User {
    if (state) set(Object.assign({}, state, { user: u }))
    return u
  }

  function send(o: RequestOptions, token?: string): Promise<Response> {
    return new Promise((resolve, reject) => {
      const header = Object.assign({}, o.header)
      if (token) header.Authorization = 'Bearer ' + token
      w!.request(
        Object.assign({}, o, {
          url: /^https?:\/\//.test(o.url) ? o.url : base + o.url,
          header,
          success: resolve,
          fail: (e: WechatMiniprogram.GeneralCallbackResult) =>
            reject(new WxLoginError('network', 'wxlogin: request failed: ' + ((e && e.errMsg) || 'no answer'))),
        }),
      )
    })
  }

  function fail(r: Response): WxLoginError {
    const d: any = r.data
    const h: any = r.header || {}
    const ra = Number(h['Retry-After'] || h['retry-after'])
    const extra = { data: d, requestId: (d && d.request_id) || h['X-Request-Id'] || h['x-request-id'], retryAfter: ra > 0 ? ra : undefined }
    if (d && d.error && d.error.code == 'no_account' && d.error.link_token) return new NoAccountError(d.error.message, (linkToken = d.error.link_token), extra.requestId)
    if (d && d.error && typeof d.error.code == 'string') return new WxLoginError(d.error.code, d.error.message || d.error.code, r.statusCode, extra)
    return new WxLoginError('http_error', 'HTTP ' + r.statusCode, r.statusCode, extra)
  }

  // post sends an unauthenticated JSON request to wxlogin: the answer's body on 2xx, else a WxLoginError.
  async function post(path: string, data: object): Promise<any> {
    const r = await send({ url: path, method: 'POST', data })
    if (r.statusCode < 200 || r.statusCode > 299) throw fail(r)
    return r.data
  }

  function tokens(d: any): State {
    if (!d || typeof d.access_token != 'string' || typeof d.refresh_token != 'string' || !d.user)
      throw new WxLoginError('bad_response', 'wxlogin: the server answered without a login state')
    return {
      access_token: d.access_token,
      refresh_token: d.refresh_token,
      expires_at: Date.now() + (Number(d.expires_in) || 0) * 1000,
      session_id: d.session_id,
      user: d.user,
    }
  }

  function code(): Promise<string> {
    return new Promise((resolve, reject) =>
      w!.login({
        success: (r) => (r.code ? resolve(r.code) : reject(new WxLoginError('wx_login_failed', 'wx.login gave no code'))),
        fail: (e) => reject(clientError(e) || new WxLoginError('wx_login_failed', 'wx.login failed: ' + e.errMsg)),
      }),
    )
  }

  // exchange: wx.login, then POST /v1/login/wechat; a code WeChat refuses gets one fresh code.
  async function exchange(creds?: { username?: string; password?: string }): Promise<State> {
    const body = (c: string) => Object.assign({ code: c }, opts.appid ? { appid: opts.appid } : {}, creds)
    let d
    try {
      d = await post('/v1/login/wechat', body(await code()))
    } catch (e) {
      if (!(e instanceof WxLoginError) || e.code != 'invalid_code') throw e
      d = await post('/v1/login/wechat', body(await code()))
    }
    const s = tokens(d)
    set(s)
    checked = true
    return s
  }

  // relogin: one wx.login and one login request however many callers ask at once.
  function relogin(): Promise<State> {
    return loginP || (loginP = always(exchange(), () => (loginP = null)))
  }

  // renew: a new token pair from the refresh token, without wx.login; shared by concurrent callers.
  // stale is the access token the caller saw rejected: if it was already replaced, the new state is it.
  function renew(stale: string): Promise<State> {
    if (state && state.access_token != stale) return Promise.resolve(state)
    if (!state) return Promise.reject(new WxLoginError('unauthorized', 'not logged in', 401))
    const rt = state.refresh_token
    return (
      refreshP ||
      (refreshP = always(
        post('/v1/token/refresh', { refresh_token: rt })
          .then(tokens, (e) => {
            // A refused refresh token (spent, revoked, session expired) means the session is over.
            if (e.status == 401 && state && state.refresh_token == rt) set(null)
            throw e
          })
          .then((s) => (set(s), s)),
        () => (refreshP = null),
      ))
    )
  }

  // renewOrLogin: renew; when the server refuses the refresh token, log in again.
  function renewOrLogin(stale: string): Promise<State> {
    return renew(stale).catch((e) => {
      if (e.status != 401) throw e
      return state && state.access_token != stale ? state : relogin()
    })
  }

  function checkSession(): Promise<boolean> {
    return new Promise((resolve) => {
      if (!w!.checkSession) return resolve(true)
      w!.checkSession({ success: () => resolve(true), fail: () => resolve(false) })
    })
  }

  async function doEnsure(): Promise<State> {
    if (loginP) return loginP
    if (state && !checked) {
      // Once per launch: when WeChat's session expired, the server's session_key did too; a
      // fresh login hands it the current one (needed for any encrypted data later).
      checked = true
      if (!(await checkSession())) return relogin()
    }
    if (!state) return relogin()
    if (state.expires_at - SKEW_MS > Date.now()) return state
    return renewOrLogin(state.access_token)
  }

  function ensure(): Promise<State> {
    if (state && checked && !loginP && state.expires_at - SKEW_MS > Date.now()) return Promise.resolve(state)
    return ensureP || (ensureP = always(doEnsure(), () => (ensureP = null)))
  }

  async function request(o: RequestOptions): Promise<Response & { data: any }> {
    let s = await ensure()
    let r = await send(o, s.access_token)
    if (r.statusCode == 401) {
      s = await renewOrLogin(s.access_token)
      r = await send(o, s.access_token)
    }
    if (r.statusCode < 200 || r.statusCode > 299) throw fail(r)
    return r
  }

  async function api(method: RequestOptions['method'], path: string, data?: object): Promise<User> {
    const u: User = (await request({ url: path, method, data })).data
    if (!u || typeof u.id != 'string') throw new WxLoginError('bad_response', 'wxlogin: the server answered without a user')
    return setUser(u)
  }

  // phoneCode returns the code of a getPhoneNumber event, or throws its typed failure.
  function phoneCode(event: PhoneEvent): string {
    const d = (event && event.detail) || {}
    if (d.code) return d.code
    throw clientError(d) || new WxLoginError('phone_denied', 'the user did not share a phone number' + (d.errMsg ? ' (' + d.errMsg + ')' : ''))
  }

  // loginWith posts to a login door and keeps the login state it answers.
  async function loginWith(path: string, data: object): Promise<User> {
    const s = tokens(await post(path, Object.assign({}, opts.appid ? { appid: opts.appid } : {}, data)))
    set(s)
    checked = true
    return s.user
  }

  function upload(path: string, token: string): Promise<WechatMiniprogram.UploadFileSuccessCallbackResult> {
    return new Promise((resolve, reject) => {
      if (!w!.uploadFile) return reject(new Error('wxlogin: wx.uploadFile is missing'))
      w!.uploadFile({
        url: base + '/v1/me/avatar',
        filePath: path,
        name: 'file',
        header: { Authorization: 'Bearer ' + token },
        success: resolve,
        fail: (e) => reject(clientError(e) || new WxLoginError('network', 'wxlogin: upload failed: ' + ((e && e.errMsg) || 'no answer'))),
      })
    })
  }

  async function legacyPhone(encrypted_data: string, iv: string): Promise<User> {
    // The data is encrypted under the session_key of this moment: no wx.login may run before it is
    // sent, so the login state is renewed with the refresh token only.
    const body = Object.assign({ encrypted_data, iv }, opts.appid ? { appid: opts.appid } : {})
    let s = state
    let fresh = false // logged in just now: a stale answer cannot be cured by another login
    if (s && s.expires_at - SKEW_MS <= Date.now()) s = await renew(s.access_token).catch(() => null)
    if (!s) {
      s = await relogin()
      fresh = true
    }
    let r = await send({ url: '/v1/me/phone', method: 'POST', data: body }, s.access_token)
    if (r.statusCode == 401 && !fresh) {
      s = await renew(s.access_token).catch(() => ((fresh = true), relogin()))
      r = await send({ url: '/v1/me/phone', method: 'POST', data: body }, s.access_token)
    }
    if (r.statusCode >= 200 && r.statusCode <= 299) return setUser(r.data as User)
    const e = fail(r)
    if (e.code != 'session_key_stale') throw e
    if (!fresh) await relogin()
    throw new TapAgainError(e.requestId)
  }

  return {
    get user() {
      return state && state.user
    },
    login: (creds) => (creds && (creds.username || creds.password) ? exchange(creds) : relogin()).then((s) => s.user),
    ensureLogin: () => ensure().then((s) => s.user),
    getAccessToken: () => ensure().then((s) => s.access_token),
    request,
    async logout() {
      const s = state
      set(null)
      checked = false
      if (!s) return
      const r = await send({ url: '/v1/logout', method: 'POST' }, s.access_token)
      if (r.statusCode != 204 && r.statusCode != 401) throw fail(r)
    },
    // The login answer's user is the short form; the full one names the account just bound.
    bindAccount: (username, password) => exchange({ username, password }).then(() => api('GET', '/v1/me')),
    async getPhoneNumber(event) {
      const d = (event && event.detail) || {}
      if (!d.code && !d.encryptedData) phoneCode(event)
      if (d.code) return api('POST', '/v1/me/phone', Object.assign({ code: d.code }, opts.appid ? { appid: opts.appid } : {}))
      if (d.encryptedData && d.iv) return legacyPhone(d.encryptedData, d.iv)
      throw new WxLoginError('phone_denied', 'the user did not share a phone number' + (d.errMsg ? ' (' + d.errMsg + ')' : ''))
    },
    // POST, not PATCH: wx.request cannot send PATCH.
    updateProfile: (p) => api('POST', '/v1/me', { nickname: p.nickname, avatar_url: p.avatarUrl }),
    reloadUser: () => api('GET', '/v1/me'),
    async loginByPhone(event) {
      const pc = phoneCode(event)
      return loginWith('/v1/login/phone', { code: pc, wx_code: await code() })
    },
    linkAccount(proof, token) {
      const link_token = token || linkToken
      if (!link_token) return Promise.reject(new WxLoginError('invalid_request', 'no link token: log in first'))
      linkToken = ''
      return 'username' in proof
        ? loginWith('/v1/login/password', { username: proof.username, password: proof.password, link_token })
        : Promise.resolve().then(() => loginWith('/v1/login/phone', { code: phoneCode(proof), link_token }))
    },
    async chooseAvatar(event) {
      const path = event && event.detail && event.detail.avatarUrl
      if (!path) throw new WxLoginError('invalid_request', 'the chooseAvatar event has no avatarUrl')
      let s = await ensure()
      let r = await upload(path, s.access_token)
      if (r.statusCode == 401) {
        s = await renewOrLogin(s.access_token)
        r = await upload(path, s.access_token)
      }
      let data: any = r.data
      try {
        data = JSON.parse(r.data)
      } catch (e) {
        // not JSON: fail() says http_error
      }
      const res = { statusCode: r.statusCode, data, header: {} } as any
      if (r.statusCode != 200 || !data || typeof data.id != 'string') throw fail(res)
      return setUser(data)
    },
    requirePrivacyAuthorize() {
      return new Promise((resolve, reject) => {
        if (!w!.requirePrivacyAuthorize) return resolve()
        w!.requirePrivacyAuthorize({ success: () => resolve(), fail: (e) => reject(clientError(Object.assign({ errno: 104 }, e)) || e) })
      })
    },
    onChange(l) {
      listeners.push(l)
      return () => {
        const i = listeners.indexOf(l)
        if (i >= 0) listeners.splice(i, 1)
      }
    },
  }
}
