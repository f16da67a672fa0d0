// Compile-time check (npm run typecheck, after build): a TypeScript mini program uses the published types with the real wx.
import { createWxLogin, WxLoginError, TapAgainError } from '../dist/index'
import type { ErrorCode, ServerErrorCode } from '../dist/index'
const auth = createWxLogin({ baseURL: 'https://x', wx })
async function f(e: WechatMiniprogram.ButtonGetPhoneNumber) {
  const u = await auth.getPhoneNumber(e)
  const r = await auth.request<{ sessions: unknown[] }>({ url: '/v1/me/sessions' })
  r.data.sessions.length
  try { await auth.ensureLogin() } catch (err) { if (err instanceof TapAgainError || (err instanceof WxLoginError && err.code === 'network')) {} }
  return u.id
}
f
// Every code of the server's error.go is a ServerErrorCode, and an ErrorCode.
const busy: ServerErrorCode = 'overloaded'
const code: ErrorCode = busy
code
