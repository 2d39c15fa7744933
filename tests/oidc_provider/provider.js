// DHO's test OpenID Connect provider: a real `oidc-provider` (npm) with HelseID-like claims.
//
//   node provider.js --port 0 [--host 127.0.0.1] [--redirect-uri URI ...]
//                    [--backchannel-logout-uri URI] [--client-id dho-dashboard]
//
// When it listens it prints one JSON line on stdout:
//   {"issuer", "port", "client_id", "client_key_file", "client_jwk", "users", ...}
// The client `dho-dashboard` authenticates with private_key_jwt: its key pair is generated here
// at start, its public JWK registered, its private JWK written to `client_key_file` (mode 0600).
//
// Login: GET /interaction/<uid> is a small form (input name="login", button "Logg inn"); POST it
// with login=<user id> (no password). Consent is automatic (scopes and claims granted at once).
//
// Control endpoints (JSON), for tests only:
//   GET  /__control/users                  the synthetic users and their claims
//   POST /__control/users {id, claims}     add (or replace) a user
//   POST /__control/client {redirect_uris, backchannel_logout_uri}  change the client's URIs
//   POST /__control/rotate                 a new signing key; it comes first in the JWKS, the
//                                          old one is kept (signing uses the new one)
//   POST /__control/misbehave {mode}       the next token response's ID token is bad:
//        rogue_key (signed by a key not in the JWKS; {"same_kid": true} keeps the real kid),
//        wrong_aud, expired (exp in the past), nonce (another nonce); {"times": n} for n responses
//   POST /__control/logout?sub=<sub>       back-channel logout of every session of that user:
//                                          the provider POSTs a logout_token to the client's
//                                          backchannel_logout_uri (oidc-provider's own code)
//   GET  /__control/sent                   what it sent: token responses and logout tokens
//   POST /__control/launch {launch, patient}  what an EPJ's SMART launch stands for: an
//                                          authorization request with `launch=<launch>` (scope
//                                          `launch`) gets `"patient": <patient>` in its token
//                                          response; an unregistered launch gets no patient
//   POST /__control/reset                  forget the log, planned misbehaviour and launches

import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'client-id': { type: 'string', default: 'dho-dashboard' },
    'redirect-uri': { type: 'string', multiple: true, default: [] },
    'backchannel-logout-uri': { type: 'string' },
    'client-alg': { type: 'string', default: 'RS256' },
  },
});

// HelseID's claim and scope names.
const CLAIM_HPR = 'helseid://claims/hpr/hpr_number';
const CLAIM_PID = 'helseid://claims/identity/pid';
const CLAIM_LEVEL = 'helseid://claims/identity/security_level';
const CLAIM_ASSURANCE = 'helseid://claims/identity/assurance_level';
const SCOPE_PID = 'helseid://scopes/identity/pid';
const SCOPE_LEVEL = 'helseid://scopes/identity/security_level';
const SCOPE_ASSURANCE = 'helseid://scopes/identity/assurance_level';
const SCOPE_HPR = 'helseid://scopes/hpr/hpr_number';
const HELSEID_SCOPES = [SCOPE_PID, SCOPE_LEVEL, SCOPE_ASSURANCE, SCOPE_HPR];
// acr: level 4 ("high", BankID and the like) or level 3 ("substantial").
const ACR = { 4: 'urn:helseid:level4', 3: 'urn:helseid:level3' };

// Synthetic fødselsnumre (month + 80 marks a synthetic number; check digits valid).
function syntheticFnr(ddmmyy, individual) {
  const d = (ddmmyy + individual).split('').map(Number);
  const w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
  const w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  const k1 = (11 - (w1.reduce((s, w, i) => s + w * d[i], 0) % 11)) % 11;
  if (k1 === 10) return syntheticFnr(ddmmyy, String(Number(individual) + 1).padStart(3, '0'));
  d.push(k1);
  const k2 = (11 - (w2.reduce((s, w, i) => s + w * d[i], 0) % 11)) % 11;
  if (k2 === 10) return syntheticFnr(ddmmyy, String(Number(individual) + 1).padStart(3, '0'));
  return d.join('') + k2;
}

function user(name, hpr, pid, level) {
  const claims = { name, [CLAIM_PID]: pid, [CLAIM_LEVEL]: String(level),
    [CLAIM_ASSURANCE]: level >= 4 ? 'high' : 'substantial' };
  if (hpr) claims[CLAIM_HPR] = hpr;
  return claims;
}

// Login id → claims (the `sub` is the login id).
const USERS = new Map([
  ['gp', user('Gro Fastlege', '9144889', syntheticFnr('018170', '123'), 4)],
  ['nurse', user('Nils Sykepleier', '1234567', syntheticFnr('028075', '234'), 4)],
  ['unknown', user('Ukjent Person', '7777777', syntheticFnr('038180', '345'), 4)],
  ['gp-level3', user('Gro Fastlege', '9144889', syntheticFnr('018170', '123'), 3)],
]);

function levelOf(claims) {
  return Number(claims[CLAIM_LEVEL] ?? 4);
}

async function newSigningKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `sig-${randomUUID()}`, alg: 'RS256', use: 'sig' };
}

function publicPart(jwk) {
  const { d, p, q, dp, dq, qi, ...pub } = jwk; // eslint-disable-line no-unused-vars
  return pub;
}

// The client's key pair (the test's DHO signs its client assertions with the private part).
const clientAlg = args['client-alg'];
const clientPair = await generateKeyPair(clientAlg, { extractable: true });
const clientKid = `client-${randomUUID()}`;
const clientPrivate = { ...(await exportJWK(clientPair.privateKey)), kid: clientKid, alg: clientAlg, use: 'sig' };
const clientPublic = publicPart(clientPrivate);
const keyDir = mkdtempSync(path.join(tmpdir(), 'dho-oidc-'));
const clientKeyFile = path.join(keyDir, 'client_private_jwk.json');
writeFileSync(clientKeyFile, JSON.stringify(clientPrivate), { mode: 0o600 });

let signingKeys = [await newSigningKey()]; // the first signs
const cookieKeys = [randomUUID(), randomUUID()];
const sent = []; // the log
let misbehaviour = []; // planned, one entry per coming token response
const sessions = new Map(); // sub → Map(session id → sid)
const launches = new Map(); // SMART launch → patient (registered by the test, as an EPJ would)
const launchByCode = new Map(); // authorization code → the launch its request carried

const clientMetadata = {
  client_id: args['client-id'],
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: clientAlg,
  jwks: { keys: [clientPublic] },
  redirect_uris: args['redirect-uri'].length ? args['redirect-uri'] : ['http://127.0.0.1/unused'],
  response_types: ['code'],
  grant_types: ['authorization_code'],
  id_token_signed_response_alg: 'RS256',
  post_logout_redirect_uris: [],
};
if (args['backchannel-logout-uri']) {
  clientMetadata.backchannel_logout_uri = args['backchannel-logout-uri'];
  clientMetadata.backchannel_logout_session_required = true;
}

let handler; // the current provider's request handler
let provider; // the current one (a rotation builds a new one over the same in-memory storage)
let issuer;

function buildProvider() {
  const built = new Provider(issuer, {
    clients: [clientMetadata],
    jwks: { keys: signingKeys },
    cookies: { keys: cookieKeys },
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'launch', ...HELSEID_SCOPES],
    extraParams: ['launch'], // SMART App Launch, EHR launch: the EPJ's opaque launch context
    claims: {
      openid: ['sub'],
      acr: null,
      profile: ['name'],
      [SCOPE_PID]: [CLAIM_PID],
      [SCOPE_LEVEL]: [CLAIM_LEVEL],
      [SCOPE_ASSURANCE]: [CLAIM_ASSURANCE],
      [SCOPE_HPR]: [CLAIM_HPR],
    },
    acrValues: Object.values(ACR),
    conformIdTokenClaims: false, // HelseID puts the identity claims in the ID token
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const claims = USERS.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, async claims() { return { sub, ...claims }; } };
    },
    // Auto-consent: every client gets openid, profile and the HelseID scopes and claims.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const found = await ctx.oidc.provider.Grant.find(grantId);
        if (found) return found;
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(['openid', 'profile', 'launch', ...HELSEID_SCOPES].join(' '));
      grant.addOIDCClaims(['sub', 'name', 'acr', CLAIM_PID, CLAIM_LEVEL, CLAIM_ASSURANCE, CLAIM_HPR]);
      await grant.save();
      return grant;
    },
    // Our own receivers listen on 127.0.0.1: no SSRF guard here. Logs every logout token.
    async fetch(url, options) {
      const { dispatcher, ...rest } = options; // eslint-disable-line no-unused-vars
      const entry = { kind: 'request', url, method: rest.method };
      if (rest.body instanceof URLSearchParams && rest.body.has('logout_token')) {
        entry.kind = 'logout_token';
        entry.logout_token = rest.body.get('logout_token');
        entry.claims = decodeJwt(entry.logout_token);
      }
      sent.push(entry);
      try {
        const response = await globalThis.fetch(url, rest);
        entry.status = response.status;
        return response;
      } catch (error) {
        entry.error = String(error);
        throw error;
      }
    },
    renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  built.proxy = false;

  built.on('authorization.success', (ctx) => {
    const { session, client } = ctx.oidc;
    if (!session?.accountId || !client) return;
    const sub = session.accountId;
    if (!sessions.has(sub)) sessions.set(sub, new Map());
    sessions.get(sub).set(session.jti, { clientId: client.clientId, sid: session.sidFor(client.clientId) });
  });
  built.on('backchannel.error', (ctx, error, client, sub, sid) => {
    sent.push({ kind: 'backchannel_error', client_id: client.clientId, sub, sid, error: String(error) });
  });
  built.on('server_error', (ctx, error) => {
    process.stderr.write(`server_error: ${error.stack}\n`);
  });

  // SMART launch: remember the launch of each code the authorization endpoint (or its resume
  // after the login form) hands out.
  built.use(async (ctx, next) => {
    await next();
    if (!ctx.path.startsWith('/auth') || ![302, 303].includes(ctx.status)) return;
    const launch = ctx.oidc?.params?.launch;
    const location = ctx.response.get('location');
    if (!launch || !location) return;
    const code = new URL(location, issuer).searchParams.get('code');
    if (code) launchByCode.set(code, launch);
  });

  // Misbehave: re-sign the ID token of the next token response(s). SMART: add the patient.
  built.use(async (ctx, next) => {
    const code = ctx.path === '/token' ? ctx.oidc?.params?.code : undefined;
    await next();
    if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
    const launch = launchByCode.get(code ?? ctx.oidc?.params?.code);
    if (launch !== undefined && launches.has(launch)) {
      ctx.body = { ...ctx.body, patient: launches.get(launch) };
    }
    const plan = misbehaviour.shift();
    const entry = { kind: 'token_response', mode: plan?.mode ?? null };
    if (plan) ctx.body = { ...ctx.body, id_token: await misbehave(ctx.body.id_token, plan) };
    entry.id_token = ctx.body.id_token;
    entry.claims = decodeJwt(entry.id_token);
    entry.header = decodeProtectedHeader(entry.id_token);
    if (launch !== undefined) entry.launch = launch;
    if (ctx.body.patient !== undefined) entry.patient = ctx.body.patient;
    sent.push(entry);
  });
  return built;
}

async function misbehave(idToken, plan) {
  const header = decodeProtectedHeader(idToken);
  const claims = decodeJwt(idToken);
  let key = signingKeys.find((k) => k.kid === header.kid) ?? signingKeys[0];
  const now = Math.floor(Date.now() / 1000);
  switch (plan.mode) {
    case 'rogue_key': {
      const rogue = await newSigningKey();
      rogue.kid = plan.same_kid ? header.kid : `rogue-${randomUUID()}`;
      key = rogue;
      break;
    }
    case 'wrong_aud':
      claims.aud = plan.aud ?? 'someone-else';
      break;
    case 'expired':
      claims.iat = now - 7200;
      claims.auth_time = now - 7200;
      claims.exp = now - 3600;
      break;
    case 'nonce':
      claims.nonce = `not-your-nonce-${randomUUID()}`;
      break;
    default:
      throw new Error(`unknown misbehaviour: ${plan.mode}`);
  }
  return new SignJWT(claims)
    .setProtectedHeader({ ...header, kid: key.kid, alg: key.alg })
    .sign(await importJWK(key, key.alg));
}

async function backchannelLogout(sub) {
  const client = await provider.Client.find(clientMetadata.client_id);
  const results = [];
  for (const [sessionId, { sid }] of sessions.get(sub) ?? []) {
    // a session ended already (RP-initiated logout) had its logout token then
    if (!(await provider.Session.adapter.find(sessionId))) continue; // eslint-disable-line no-await-in-loop
    let outcome = 'sent';
    if (client.backchannelLogoutUri) {
      try {
        await client.backchannelLogout(sub, sid);
      } catch (error) {
        outcome = `failed: ${error}`;
      }
    } else {
      outcome = 'no backchannel_logout_uri';
    }
    await provider.Session.adapter.destroy(sessionId); // eslint-disable-line no-await-in-loop
    results.push({ sid, outcome });
  }
  sessions.delete(sub);
  return results;
}

const MISBEHAVIOURS = new Set(['rogue_key', 'wrong_aud', 'expired', 'nonce']);

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(type === 'application/json' ? JSON.stringify(body) : body);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, message) {
  const users = [...USERS.keys()].map((id) => `<li><code>${escapeHtml(id)}</code></li>`).join('');
  return `<!doctype html>
<html lang="nb"><head><meta charset="utf-8"><title>Testpålogging (HelseID-lik)</title></head>
<body><main>
<h1>Testpålogging</h1>
${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">Bruker</label>
<input id="login" name="login" autocomplete="off" autofocus>
<button type="submit">Logg inn</button>
</form>
<p>Testbrukere:</p><ul>${users}</ul>
</main></body></html>`;
}

async function interaction(req, res, url) {
  const match = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!match) return send(res, 404, { error: 'not_found' });
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== match[1]) return send(res, 400, { error: 'interaction mismatch' });
  if (req.method === 'GET' && !match[2]) return send(res, 200, loginPage(details.uid), 'text/html');
  if (req.method !== 'POST' || !match[2]) return send(res, 405, { error: 'method_not_allowed' });
  const form = new URLSearchParams(await readBody(req));
  const login = (form.get('login') ?? '').trim();
  const claims = USERS.get(login);
  if (!claims) return send(res, 200, loginPage(details.uid, `Ukjent bruker: ${login}`), 'text/html');
  const level = levelOf(claims);
  await provider.interactionFinished(req, res, {
    login: { accountId: login, acr: ACR[level] ?? `urn:helseid:level${level}`, amr: ['pwd'] },
  }, { mergeWithLastSubmission: false });
  return undefined;
}

async function control(req, res, url) {
  const name = url.pathname.slice('/__control/'.length);
  const raw = req.method === 'POST' ? await readBody(req) : '';
  const body = raw ? JSON.parse(raw) : {};
  if (name === 'users' && req.method === 'GET') {
    return send(res, 200, Object.fromEntries(USERS));
  }
  if (name === 'users' && req.method === 'POST') {
    if (!body.id || typeof body.claims !== 'object') return send(res, 400, { error: 'id and claims' });
    USERS.set(body.id, body.claims);
    return send(res, 201, { id: body.id, claims: body.claims });
  }
  if (name === 'client' && req.method === 'POST') {
    if (body.redirect_uris) clientMetadata.redirect_uris = body.redirect_uris;
    if (body.backchannel_logout_uri) {
      clientMetadata.backchannel_logout_uri = body.backchannel_logout_uri;
      clientMetadata.backchannel_logout_session_required = true;
    }
    provider = buildProvider();
    handler = provider.callback();
    return send(res, 200, clientMetadata);
  }
  if (name === 'rotate' && req.method === 'POST') {
    const fresh = await newSigningKey();
    signingKeys = [fresh, ...signingKeys];
    provider = buildProvider();
    handler = provider.callback();
    return send(res, 200, { kid: fresh.kid, kids: signingKeys.map((k) => k.kid) });
  }
  if (name === 'misbehave' && req.method === 'POST') {
    if (!MISBEHAVIOURS.has(body.mode)) return send(res, 400, { error: `mode: one of ${[...MISBEHAVIOURS]}` });
    const times = Number(body.times ?? 1);
    for (let i = 0; i < times; i += 1) misbehaviour.push(body);
    return send(res, 200, { planned: misbehaviour.map((p) => p.mode) });
  }
  if (name === 'logout' && req.method === 'POST') {
    const sub = url.searchParams.get('sub') ?? body.sub;
    if (!sub) return send(res, 400, { error: 'sub' });
    return send(res, 200, { sub, sessions: await backchannelLogout(sub) });
  }
  if (name === 'launch' && req.method === 'POST') {
    if (typeof body.launch !== 'string' || !body.launch || typeof body.patient !== 'string') {
      return send(res, 400, { error: 'launch and patient (strings)' });
    }
    launches.set(body.launch, body.patient);
    return send(res, 200, { launch: body.launch, patient: body.patient });
  }
  if (name === 'sent' && req.method === 'GET') {
    return send(res, 200, sent);
  }
  if (name === 'reset' && req.method === 'POST') {
    sent.length = 0;
    misbehaviour = [];
    launches.clear();
    launchByCode.clear();
    return send(res, 200, {});
  }
  return send(res, 404, { error: 'not_found' });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  let handled;
  if (url.pathname.startsWith('/__control/')) handled = control(req, res, url);
  else if (url.pathname.startsWith('/interaction/')) handled = interaction(req, res, url);
  else return handler(req, res);
  handled.catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    if (!res.headersSent) send(res, 500, { error: String(error) });
  });
  return undefined;
});

server.listen(Number(args.port), args.host, () => {
  const { port } = server.address();
  issuer = `http://${args.host}:${port}`;
  provider = buildProvider();
  handler = provider.callback();
  process.stdout.write(`${JSON.stringify({
    issuer,
    port,
    client_id: clientMetadata.client_id,
    client_key_file: clientKeyFile,
    client_jwk: clientPrivate,
    redirect_uris: clientMetadata.redirect_uris,
    backchannel_logout_uri: clientMetadata.backchannel_logout_uri ?? null,
    users: Object.fromEntries(USERS),
    acr: ACR,
  })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
