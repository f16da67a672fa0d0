/**
 * Codes the wxlogin server answers with (`{"error":{"code","message"}}`): exactly the codes of the
 * server's error.go (its contract_codes_test.go fails when this list and error.go differ).
 * `overloaded` (503 + Retry-After) is the server or its database too busy: try again after retryAfter.
 */
export type ServerErrorCode =
  | 'invalid_request'
  | 'invalid_code'
  | 'user_blocked'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'session_key_stale'
  | 'rate_limited'
  | 'upstream_unavailable'
  | 'upstream_error'
  | 'internal'
  | 'method_not_allowed'
  | 'overloaded'
  | 'payload_too_large'
  | 'no_account'
  | 'snapshot_user'

/**
 * The client's own codes: `network` (wx.request failed: server down, timeout, no network),
 * `wx_login_failed` (wx.login failed), `phone_denied` (the user did not share a phone number),
 * `bad_response` (a 2xx that is not what the API promises), `http_error` (a non-2xx without wxlogin's
 * error shape, e.g. from a business service), `privacy_required` (WeChat refused a client API, errno
 * 104/112, until the user agrees to the privacy guide: see requirePrivacyAuthorize), `phone_quota`
 * (errno 1400001: the app's paid phone-number quota is used up).
 */
export type ClientErrorCode =
  | 'network'
  | 'wx_login_failed'
  | 'phone_denied'
  | 'bad_response'
  | 'http_error'
  | 'privacy_required'
  | 'phone_quota'

/** A server code (ServerErrorCode) or one of the client's own (ClientErrorCode). */
export type ErrorCode = ServerErrorCode | ClientErrorCode

/** Every failure of the client: `code` is the server's error code or one of the client's own. */
export class WxLoginError extends Error {
  /** The server's error code, or the client's own (see ErrorCode). */
  readonly code: ErrorCode | string
  /** HTTP status; 0 when no answer arrived. */
  readonly status: number
  /** Seconds the server asked to wait (429, 503), when it said. */
  readonly retryAfter?: number
  /** The server's request id, to quote in a bug report. */
  readonly requestId?: string
  /** The response body of a failed request(), for business services' own error shapes. */
  readonly data?: unknown

  constructor(code: string, message: string, status = 0, extra?: { retryAfter?: number; requestId?: string; data?: unknown }) {
    super(message)
    this.name = 'WxLoginError'
    this.code = code
    this.status = status
    if (extra) {
      this.retryAfter = extra.retryAfter
      this.requestId = extra.requestId
      this.data = extra.data
    }
  }
}

/**
 * getPhoneNumber's legacy encrypted data could not be read because WeChat's session_key changed
 * after WeChat encrypted it. The client has already logged in again, so the server holds the current
 * key: ask the user to tap the button again. `code` is `session_key_stale`.
 */
export class TapAgainError extends WxLoginError {
  constructor(requestId?: string) {
    super('session_key_stale', 'WeChat renewed the session while reading the phone number: please tap the button again', 409, { requestId })
    this.name = 'TapAgainError'
  }
}

/** WeChat refused a client API (errno 104 or 112) until the user agrees to the app's privacy guide. */
export class PrivacyRequiredError extends WxLoginError {
  readonly errno: number
  constructor(errno: number, message: string) {
    super('privacy_required', message, 0)
    this.name = 'PrivacyRequiredError'
    this.errno = errno
  }
}

/** getPhoneNumber failed with errno 1400001: the app's paid phone-number quota is used up. */
export class PhoneQuotaError extends WxLoginError {
  constructor() {
    super('phone_quota', "the app's phone-number quota is used up (errno 1400001)", 0)
    this.name = 'PhoneQuotaError'
  }
}

/**
 * The server signs up nobody new (existing_only) and this WeChat user has no account. `linkToken`
 * (single use, about 10 minutes) binds this WeChat identity to an existing account: call
 * `linkAccount()` with a username and password or a getPhoneNumber event. `code` is `no_account`.
 */
export class NoAccountError extends WxLoginError {
  readonly linkToken: string
  constructor(message: string, linkToken: string, requestId?: string) {
    super('no_account', message, 403, { requestId })
    this.name = 'NoAccountError'
    this.linkToken = linkToken
  }
}

/** clientError returns the typed error of a failed WeChat client API (privacy, quota), or null. */
export function clientError(e: any): WxLoginError | null {
  const errno = e && Number(e.errno)
  if (errno == 104 || errno == 112) return new PrivacyRequiredError(errno, 'the user has not agreed to the privacy guide: ' + (e.errMsg || errno))
  if (errno == 1400001) return new PhoneQuotaError()
  return null
}
