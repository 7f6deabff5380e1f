// A real OpenID Provider (the certified `oidc-provider` package) on 127.0.0.1, as the upstream of
// the OAuth proxy in the end-to-end tests. Started by tests/oauth_proxy/oidc_upstream.py with one
// argument: a JSON file {port, clients, resource, resource_scope, access_token_ttl, users}.
// Sign-in: a plain HTML form (email + password) the tests submit over HTTP; consent for the
// proxy's client is granted at once (first-party client). Access tokens for the resource are
// RS256 JWTs; refresh tokens are issued to clients allowed the refresh_token grant and can be revoked.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e-rs256', use: 'sig', alg: 'RS256' };

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: id, email_verified: true }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'email', 'offline_access'],
  features: {
    devInteractions: { enabled: false },
    // RFC 7009 at /token/revocation (in the discovery document): a client may revoke its own tokens;
    // revoking a refresh token revokes its whole grant (rotated descendants included).
    revocation: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => config.resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== config.resource) throw new errors.InvalidTarget();
        return {
          scope: config.resource_scope,
          audience: config.resource,
          accessTokenTTL: config.access_token_ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
});

function page(res, status, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><html><body>${body}</body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16384) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

async function grantConsent(req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  const result = grantId ? { consent: {} } : { consent: { grantId: saved } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, 'interaction mismatch');
  if (details.prompt.name === 'consent') return grantConsent(req, res, details);
  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const email = form.get('email') || '';
    if (!Object.hasOwn(config.users, email) || config.users[email] !== form.get('password')) {
      return page(res, 401, '<p id="error">Wrong email or password.</p>');
    }
    return provider.interactionFinished(req, res, { login: { accountId: email } }, { mergeWithLastSubmission: false });
  }
  return page(
    res,
    200,
    `<h1>Sign in</h1><form method="post" action="/interaction/${escape(uid)}/login">` +
      '<input name="email" type="email"><input name="password" type="password">' +
      '<button type="submit">Sign in</button></form>',
  );
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/(login))?(?:\?.*)?$/.exec(req.url);
  if (!match) return callback(req, res);
  return interaction(req, res, match[1], match[2]).catch((error) => {
    page(res, 500, `<p>${escape(error.name)}</p>`);
  });
});
server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
