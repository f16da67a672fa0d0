const { TapAgainError } = require('@wxlogin/miniprogram')

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
    default:
      return 'Something went wrong (' + err.code + ').'
  }
}

Page({
  data: { user: null, sessions: [], message: '' },

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
      this.setData({ message: explain(err) })
    }
  },

  onLogin() {
    return this.run(() => auth.login())
  },

  onPhone(e) {
    return this.run(() => auth.getPhoneNumber(e))
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
