const { createWxLogin } = require('@wxlogin/miniprogram')
const { baseURL } = require('./config')

App({
  // One client for the whole app: pages share its login state, its single wx.login and its refresh.
  auth: createWxLogin({ baseURL }),

  onLaunch() {
    // Silent login at launch; pages that call auth.request() before it finishes simply wait for it.
    this.auth.ensureLogin().catch((err) => console.warn('wxlogin: silent login failed', err.code, err.message))
  },
})
