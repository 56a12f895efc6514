/* global document, location -- browser code, served as is to the page */
import { api, setCsrf, subscribeToChanges } from './api.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const show = (msg) => {
  $('message').textContent = msg;
};

/** Field-by-field difference of two argument objects, as the run records an edit. */
function diff(before, after) {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`);
}

function countdown(deadline) {
  const s = Math.round((Date.parse(deadline) - Date.now()) / 1000);
  return s <= 0 ? 'deadline passed' : `${Math.floor(s / 60)} min ${s % 60} s left`;
}

async function decide(a, body) {
  try {
    const r = await api('POST', a.links.decide, { args_hash: a.args_hash, ...body });
    show(`Recorded: ${r.status} (${r.approvals}/${r.quorum}).`);
    await refresh();
  } catch (err) {
    show(`Not recorded, nothing changed. ${err.message}`);
  }
}

function item(a) {
  const args = a.args ?? {};
  const comment = el('textarea', { id: `c-${a.id}`, rows: 2 });
  const edit = el('textarea', { id: `e-${a.id}`, rows: 6, value: JSON.stringify(args, null, 2) });
  const diffOut = el('pre', { id: `d-${a.id}`, className: 'diff' });
  const approve = el('button', { type: 'button', textContent: 'Approve' });
  approve.addEventListener('click', () => void decide(a, { decision: 'approve' }));
  const reject = el('button', { type: 'button', textContent: 'Reject' });
  reject.addEventListener('click', () => void decide(a, { decision: 'reject', ...(comment.value ? { comment: comment.value } : {}) }));
  const review = el('button', { type: 'button', textContent: 'Show diff' });
  const send = el('button', { type: 'button', textContent: 'Approve edited', hidden: true });
  let edited;
  review.addEventListener('click', () => {
    try {
      edited = JSON.parse(edit.value);
    } catch {
      show('The edited arguments are not valid JSON.');
      return;
    }
    diffOut.textContent = diff(args, edited).join('\n') || '(no change)';
    send.hidden = false;
  });
  send.addEventListener('click', () => void decide(a, { decision: 'approve', edited_args: edited }));
  const voted = a.decisions.map((d) => `${d.approver}: ${d.decision}`).join(', ') || 'nobody yet';
  return el(
    'li',
    { className: 'item', id: `a-${a.id}` },
    el('h3', { textContent: `${a.agent.name ?? '?'}@${a.agent.version ?? '?'} · ${a.tool ?? a.kind}` }),
    el('p', { textContent: `Why: ${a.reason}` }),
    el('p', {
      textContent: `Quorum ${a.decisions.filter((d) => d.decision === 'approve').length}/${a.quorum} · decided: ${voted} · ${countdown(a.deadline)}`,
    }),
    el('pre', { textContent: JSON.stringify(args, null, 2) }),
    el('p', {}, el('a', { href: `/v1/runs/${a.run_id}`, textContent: `Run ${a.run_id}` })),
    el('label', { htmlFor: comment.id, textContent: 'Comment (with reject)' }),
    comment,
    el('label', { htmlFor: edit.id, textContent: 'Edit arguments (JSON)' }),
    edit,
    diffOut,
    el('div', {}, approve, reject, review, send),
  );
}

let shown = '';
async function refresh() {
  try {
    const { approvals } = await api('GET', '/v1/approvals');
    const key = JSON.stringify(approvals.map((a) => [a.id, a.args_hash, a.decisions.length]));
    $('status').textContent = `${approvals.length} waiting · updated ${new Date().toLocaleTimeString()}`;
    if (key === shown) return;
    shown = key;
    $('items').replaceChildren(...approvals.map(item));
  } catch (err) {
    show(err.message);
  }
}

function signedIn(session) {
  setCsrf(session.csrf_token);
  $('who').textContent =
    `${session.principal.subject} · tenant ${session.principal.tenant} · roles ${session.principal.roles.join(', ') || 'none'}`;
  $('signin').hidden = true;
  $('signout').hidden = false;
  $('inbox').hidden = false;
  subscribeToChanges(() => void refresh());
}

$('signin').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const credential = $('credential').value;
  api('POST', '/ui/session', undefined, { authorization: `Bearer ${credential}` })
    .then((s) => {
      $('credential').value = '';
      show('');
      signedIn(s);
    })
    .catch((err) => show(err.message));
});

$('signout').addEventListener('click', () => {
  api('POST', '/ui/session/end')
    .then(() => location.reload())
    .catch((err) => show(err.message));
});

api('GET', '/ui/session')
  .then(signedIn)
  .catch(() => {
    $('signin').hidden = false;
  });
