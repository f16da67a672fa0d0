// The demo page of `wxlogin dev`: start the WeChat browser login, then trade the login_code it
// brings back for the login state and show who logged in.
(function () {
  'use strict';
  var page = location.origin + '/demo/web';
  var apps = JSON.parse(document.documentElement.dataset.apps || '{}');
  var status = document.getElementById('status');

  function randomState() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  [['official_account', 'login-official-account'], ['website', 'login-website']].forEach(function (k) {
    var appid = apps[k[0]], a = document.getElementById(k[1]);
    if (!appid) return;
    a.hidden = false;
    a.addEventListener('click', function (ev) {
      ev.preventDefault();
      var state = randomState();
      sessionStorage.setItem('wxlogin-demo-state', state); // checked on the way back (CSRF)
      location.href = '/v1/oauth/wechat/authorize?' + new URLSearchParams({appid: appid, redirect_uri: page, state: state});
    });
  });

  var q = new URLSearchParams(location.search);
  if (!q.has('login_code') && !q.has('error')) return;
  history.replaceState(null, '', '/demo/web'); // the login_code works once: keep it out of history
  var want = sessionStorage.getItem('wxlogin-demo-state');
  sessionStorage.removeItem('wxlogin-demo-state');
  if (!want || q.get('state') !== want) { status.textContent = 'The login came back with a state this page did not send: ignored.'; return; }
  if (q.has('error')) { status.textContent = 'The WeChat login failed: ' + q.get('error'); return; }
  status.textContent = 'Logging in…';
  fetch('/v1/login/exchange', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({login_code: q.get('login_code')})})
    .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.error ? b.error.code + ': ' + b.error.message : r.status); return b; }); })
    .then(function (login) { return fetch('/v1/me', {headers: {Authorization: 'Bearer ' + login.access_token}}).then(function (r) { return r.json(); }); })
    .then(function (me) {
      document.getElementById('user-id').textContent = me.id;
      document.getElementById('user-nickname').textContent = me.nickname || 'no nickname';
      document.getElementById('user-unionid').textContent = me.unionid || 'none';
      var ul = document.getElementById('user-identities');
      (me.identities || []).forEach(function (i) {
        var li = document.createElement('li');
        li.textContent = i.appid + ': ' + i.openid;
        ul.appendChild(li);
      });
      document.getElementById('user').hidden = false;
      status.textContent = 'Logged in.';
    })
    .catch(function (e) { status.textContent = 'Login failed: ' + e.message; });
})();
