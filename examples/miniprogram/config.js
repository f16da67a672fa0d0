// Where wxlogin runs. For `wxlogin dev` on the developer's machine; in production the HTTPS
// address listed under the mini program's request legal domains. There is no secret here, ever:
// the app secret and the session_key stay on the wxlogin server.
module.exports = {
  baseURL: 'http://127.0.0.1:8080',
}
