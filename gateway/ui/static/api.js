/* global EventSource -- browser code, served as is to the page */
// The page's one client of the gateway: the same /v1 routes as curl, with the session cookie standing
// in for the credential and the CSRF token on every state-changing request.
let csrf = '';

/** Remembers the session's CSRF token (from POST or GET /ui/session). */
export function setCsrf(token) {
  csrf = token;
}

/** Calls the API; a non-2xx answer throws an Error carrying the problem+json. */
export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: 'same-origin' };
  if (method !== 'GET') init.headers['x-csrf-token'] = csrf;
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const err = new Error(`${data.title ?? res.status}: ${data.detail ?? ''}`);
    err.problem = data;
    throw err;
  }
  return data;
}

/** How often the inbox asks again when there is no event stream. */
export const POLL_MS = 3000;

/** The stream's events that change what the inbox shows (SSE events are named, so each is listened to). */
const APPROVAL_EVENTS = ['approval.requested', 'approval.decided'];

/**
 * Calls onChange whenever something may have changed. Follows the tenant's approval events
 * (GET /v1/events?types=approval.*, docs/events.md) and falls back to polling every POLL_MS when the
 * stream fails. Returns a function that stops.
 */
export function subscribeToChanges(onChange) {
  let timer;
  let source;
  const poll = () => {
    timer = setInterval(onChange, POLL_MS);
  };
  if (typeof EventSource === 'function') {
    source = new EventSource('/v1/events?types=approval.*', { withCredentials: true });
    for (const type of APPROVAL_EVENTS) source.addEventListener(type, () => onChange());
    source.onerror = () => {
      source.close();
      source = undefined;
      if (timer === undefined) poll();
    };
  } else poll();
  onChange();
  return () => {
    source?.close();
    clearInterval(timer);
  };
}
