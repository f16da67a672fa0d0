// The website's side of a QR login: create a request, show its code, long-poll its status, and on
// confirmation keep the login (here only in memory) and show the user. The poll token is a secret:
// it stays in this page's memory and travels only in request bodies, never in a URL.
'use strict'
;(function () {
  var $ = function (id) { return document.getElementById(id) }
  var run = 0 // the current request; a newer one stops older loops

  function show(text, error) {
    $('status').textContent = text
    $('status').className = error ? 'error' : ''
  }

  function post(path, body, token) {
    var headers = { 'Content-Type': 'application/json' }
    if (token) headers.Authorization = 'Bearer ' + token
    return fetch(path, { method: 'POST', headers: headers, body: JSON.stringify(body) }).then(function (r) {
      return r.json().then(function (data) { return { status: r.status, data: data } })
    })
  }

  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms) }) }

  async function start() {
    var mine = ++run
    $('again').hidden = true
    $('user').hidden = true
    show('Loading the code…')
    var r = await post('/v1/qr-login', {})
    if (r.status != 201) {
      show('Cannot show a code: ' + r.data.error.message, true)
      $('again').hidden = false
      return
    }
    var req = r.data
    $('code').src = req.image
    $('code').hidden = false
    $('code').dataset.id = req.id
    show('Scan the code with WeChat')
    var since = 'pending'
    while (mine == run) {
      var p
      try {
        p = await post('/v1/qr-login/' + encodeURIComponent(req.id) + '/poll', { poll_token: req.poll_token, since: since })
      } catch (e) {
        await wait(2000) // the network blinked: poll again
        continue
      }
      if (mine != run) return
      if (p.status == 410) {
        $('code').hidden = true
        show('The code expired.')
        $('again').hidden = false
        return
      }
      if (p.status == 429 || p.status == 503) {
        await wait(2000)
        continue
      }
      if (p.status != 200) {
        show('Login failed: ' + p.data.error.message, true)
        $('again').hidden = false
        return
      }
      since = p.data.status
      if (since == 'scanned') show('Scanned. Confirm on your phone.')
      if (since == 'denied') {
        $('code').hidden = true
        show('The login was refused on the phone.', true)
        $('again').hidden = false
        return
      }
      if (since == 'confirmed') return loggedIn(p.data.login)
    }
  }

  async function loggedIn(login) {
    $('code').hidden = true
    var me = await fetch('/v1/me', { headers: { Authorization: 'Bearer ' + login.access_token } }).then(function (r) { return r.json() })
    $('user-id').textContent = me.id
    $('user-nickname').textContent = me.nickname || '(none)'
    $('session-id').textContent = login.session_id
    $('user').hidden = false
    show('Logged in as ' + me.id)
  }

  $('again').addEventListener('click', start)
  start()
})()
