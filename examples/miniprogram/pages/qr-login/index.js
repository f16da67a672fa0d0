// The page a website's QR login code opens (qr_login_page, default pages/qr-login/index). WeChat
// passes the code's scene URL-encoded in options.scene. The page claims the request for the
// logged-in user (scan), shows where it comes from, and asks for confirmation.
const { auth } = getApp()

function explain(err) {
  switch (err.code) {
    case 'expired':
      return 'This code has expired or was used. Refresh the website to get a new one.'
    case 'conflict':
      return 'Someone else already scanned this code.'
    case 'forbidden':
      return 'This code was scanned by another WeChat user.'
    case 'not_found':
      return 'This code is not a login code of this app.'
    case 'network':
      return 'Cannot reach the server. Check your network and try again.'
    default:
      return 'Something went wrong (' + err.code + ').'
  }
}

Page({
  data: { state: 'loading', requester: null, message: '' },

  async onLoad(options) {
    this.scene = decodeURIComponent(options.scene || '')
    if (!this.scene) return this.setData({ state: 'error', message: 'Open this page by scanning a login code.' })
    try {
      // qrLogin calls log in silently first when needed (one wx.login for the whole app).
      const requester = await auth.qrLogin.scan(this.scene)
      this.setData({ state: 'ask', requester: Object.assign({}, requester, { when: new Date(requester.created_at).toLocaleString() }) })
    } catch (err) {
      this.setData({ state: 'error', message: explain(err) })
    }
  },

  async decide(confirm) {
    this.setData({ state: 'sending' })
    try {
      await (confirm ? auth.qrLogin.confirm(this.scene) : auth.qrLogin.deny(this.scene))
      this.setData({ state: confirm ? 'confirmed' : 'denied' })
    } catch (err) {
      this.setData({ state: 'error', message: explain(err) })
    }
  },

  onConfirm() {
    return this.decide(true)
  },

  onDeny() {
    return this.decide(false)
  },
})
