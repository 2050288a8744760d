/**
 * The dashboard script's shared part: DOM building (API strings become
 * text nodes, never parsed HTML), formatting, and the JSON fetch with the
 * bearer token. Plain browser JS in a string; the page joins the parts in
 * order into one inline script pinned by hash.
 */
export const SCRIPT_BASE = `
'use strict'
const TOKEN_KEY = 'fleetmesh.token'
const REQUEST_TIMEOUT_MS = 5000
let token = null
let selfId = null

// Builds an element; children that are not nodes become text nodes, so API
// strings are never parsed as HTML.
function h (tag, attrs, ...children) {
  const el = document.createElement(tag)
  if (attrs != null) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue
      if (k === 'class') el.className = v
      else el.setAttribute(k, String(v))
    }
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}
const $ = id => document.getElementById(id)
const str = v => v == null ? '' : String(v)
const short = id => { const s = str(id); return s.length > 18 ? s.slice(0, 8) + '\\u2026' + s.slice(-6) : s }
const idSpan = id => h('span', { class: 'mono id', title: str(id) }, short(id))
const fullId = id => h('span', { class: 'mono' }, str(id))
const num = (v, digits) => typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString(undefined, { maximumFractionDigits: digits ?? 0 }) : '\\u2013'
const credits = v => num(v, 6)
const time = ms => typeof ms === 'number' && ms > 0 ? new Date(ms).toLocaleTimeString() : '\\u2013'
const dateTime = ms => typeof ms === 'number' && ms > 0 ? new Date(ms).toLocaleString() : '\\u2013'
function duration (ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '\\u2013'
  if (ms < 1000) return Math.round(ms) + ' ms'
  let s = Math.floor(ms / 1000)
  const d = Math.floor(s / 86400); s -= d * 86400
  const hh = Math.floor(s / 3600); s -= hh * 3600
  const mm = Math.floor(s / 60); s -= mm * 60
  const p = n => String(n).padStart(2, '0')
  if (d > 0) return d + 'd ' + hh + 'h ' + p(mm) + 'm'
  if (hh > 0) return hh + 'h ' + p(mm) + 'm ' + p(s) + 's'
  if (mm > 0) return mm + 'm ' + p(s) + 's'
  return s + 's'
}
const badge = (text, cls) => h('span', { class: 'badge ' + str(cls).replace(/[^a-z-]/g, '') }, str(text))
const empty = text => h('div', { class: 'empty' }, text)
const selfMark = id => id != null && id === selfId ? h('span', { class: 'muted' }, ' (this node)') : null
function table (head, rows) {
  return h('div', { class: 'scroll' }, h('table', null,
    h('thead', null, h('tr', null, head.map(c => typeof c === 'string' ? h('th', null, c) : h('th', { class: c.cls, title: c.title }, c.text)))),
    h('tbody', null, rows)))
}
function fill (id, ...children) {
  const el = $(id)
  el.replaceChildren(...children.flat(Infinity).filter(c => c != null))
}
function setCount (id, text) { $(id).textContent = text }

class ApiError extends Error {
  constructor (kind, message) { super(message); this.kind = kind }
}
async function getJson (path) {
  let res
  try {
    res = await fetch(path, {
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      cache: 'no-store',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    })
  } catch (err) {
    throw new ApiError('unreachable', err && err.name === 'TimeoutError' ? 'no answer within ' + REQUEST_TIMEOUT_MS / 1000 + ' s' : 'connection failed')
  }
  if (!res.ok) {
    let msg = ''
    try {
      const body = await res.json()
      const m = body && (body.error && body.error.message != null ? body.error.message : body.message)
      if (m != null) msg = String(m)
    } catch {}
    if (res.status === 401 || res.status === 403) throw new ApiError('unauthorized', msg)
    throw new ApiError('http', 'HTTP ' + res.status + (msg ? ': ' + msg : ''))
  }
  try { return await res.json() } catch { throw new ApiError('http', 'invalid JSON') }
}

`
