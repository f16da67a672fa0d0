// The published files: plain JavaScript for the mini program runtime, no Node built-ins, no way to
// configure an app secret.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'

const read = (f) => readFileSync(new URL('../dist/' + f, import.meta.url), 'utf8')

test('dist uses no Node built-ins and never talks to WeChat itself', () => {
  for (const f of ['index.js', 'index.mjs']) {
    const src = read(f)
    const bad = src.match(/\brequire\s*\(|\bprocess\.|\bBuffer\b|\bglobalThis\b|from\s+["']node:|\bfetch\s*\(|jscode2session|api\.weixin\.qq\.com/g)
    assert.equal(bad, null, `${f} contains ${bad}`)
  }
})

test('the ES module and the CommonJS build export the same API', async () => {
  const cjs = createRequire(import.meta.url)('../dist/index.js')
  const esm = await import('../dist/index.mjs')
  const names = ['NoAccountError', 'PhoneQuotaError', 'PrivacyRequiredError', 'TapAgainError', 'WxLoginError', 'createWxLogin']
  assert.deepEqual(Object.keys(cjs).sort(), names)
  assert.deepEqual(Object.keys(esm).sort(), names)
})

test('createWxLogin refuses an app secret and a missing wx or baseURL', () => {
  const { createWxLogin } = createRequire(import.meta.url)('../dist/index.js')
  const wx = { login() {}, request() {}, getStorageSync() {}, setStorageSync() {}, removeStorageSync() {} }
  assert.throws(() => createWxLogin({ baseURL: 'https://x', wx, secret: 's' }), /app secret/)
  assert.throws(() => createWxLogin({ baseURL: 'https://x', wx, appSecret: 's' }), /app secret/)
  assert.throws(() => createWxLogin({ baseURL: 'https://x' }), /no wx/)
  assert.throws(() => createWxLogin({ wx }), /baseURL/)
  assert.equal(createWxLogin({ baseURL: 'https://x', wx }).user, null)
})
