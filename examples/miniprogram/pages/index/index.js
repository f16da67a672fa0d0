const { NoAccountError, TapAgainError } = require('@wxlogin/miniprogram')

const { auth } = getApp()

// explain turns a typed WxLoginError into something to show the user.
function explain(err) {
  if (err instanceof TapAgainError) return 'Please tap the button again.'
  switch (err.code) {
    case 'network':
      return 'Cannot reach the server. Check your network and try again.'
    case 'upstream_unavailable':
    case 'rate_limited':
      return 'WeChat is busy. Try again in ' + (err.retryAfter || 5) + ' seconds.'
    case 'user_blocked':
      return 'This WeChat account cannot log in.'
    case 'phone_denied':
      return 'No phone number shared.'
    case 'privacy_required':
      return 'Please agree to the privacy guide first.'
    case 'phone_quota':
      return 'Signing in by phone is unavailable right now: use your username and password.'
    case 'no_account':
      return 'No account for this WeChat user yet: sign in with your username and password or your phone to link it.'
    default:
      return 'Something went wrong (' + err.code + ').'
  }
}

Page({
  // needLink: the server signs up nobody new and this WeChat user has no account (NoAccountError):
  // the password form and the phone button link it to an existing account (auth.linkAccount).
  data: { user: null, sessions: [], message: '', needLink: false },

  onLoad() {
    this.setData({ user: auth.user })
    this.unsubscribe = auth.onChange((user) => this.setData({ user }))
  },

  onUnload() {
    this.unsubscribe()
  },

  async run(action) {
    this.setData({ message: '' })
    try {
      await action()
    } catch (err) {
      this.setData({ message: explain(err), needLink: err instanceof NoAccountError || this.data.needLink })
    }
  },

  onLogin() {
    return this.run(() => auth.login())
  },

  onPhone(e) {
    // Linking after no_account, else verifying the logged-in user's phone.
    return this.run(async () => {
      if (this.data.needLink) {
        await auth.linkAccount(e)
        this.setData({ needLink: false })
      } else {
        await auth.getPhoneNumber(e)
      }
    })
  },

  onPhoneLogin(e) {
    // One tap: the phone number finds (or, with phone sign-up, creates) the user; this WeChat identity joins it.
    return this.run(() => auth.loginByPhone(e))
  },

  onLinkPassword(e) {
    const { username, password } = e.detail.value
    return this.run(async () => {
      await auth.linkAccount({ username, password })
      this.setData({ needLink: false })
    })
  },

  onChooseAvatar(e) {
    // WeChat hands a temporary local path: upload it (the server checks and re-encodes it).
    return this.run(() => auth.chooseAvatar(e))
  },

  onAgreePrivacy() {
    return this.run(() => auth.requirePrivacyAuthorize())
  },

  onLoadSessions() {
    // Any request: logs in first if needed, attaches the token, refreshes it on 401.
    return this.run(async () => {
      const res = await auth.request({ url: '/v1/me/sessions' })
      this.setData({ sessions: res.data.sessions })
    })
  },

  onLogout() {
    return this.run(async () => {
      this.setData({ sessions: [] })
      await auth.logout()
    })
  },
})
