// A real OpenID provider on loopback for the console's single sign-on tests (issue 15): npm's
// oidc-provider (a certified implementation) with one confidential client and its development
// login pages (devInteractions: any login name and password are accepted; consent is granted
// at once). The accounts: "alice" (group hearth-admins), "bob" (hearth-readers), anyone else
// (group staff: no role in Hearth).
//
// The issuer is https://127.0.0.1:PORT with the certificate and key in HEARTH_OIDC_TLS_CERT and
// HEARTH_OIDC_TLS_KEY (the test gives it one that only its own CA vouches for: hearth-server
// trusts it through oidc_ca_file), else http://127.0.0.1:PORT (hearth-server accepts plain HTTP to
// a provider only on loopback); a port of its own, printed as "listening provider=127.0.0.1:PORT". The client's redirect URI names hearth-server's admin port, known only once it runs:
// the test sends it in `POST /test/client` (form field redirect_uri, once), and only then does
// the provider answer anything else. Configuration from the environment:
//   HEARTH_OIDC_CLIENT_ID, HEARTH_OIDC_CLIENT_SECRET, HEARTH_OIDC_CLIENT_AUTH
//   (client_secret_basic or client_secret_post).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider from 'oidc-provider';

const clientId = process.env.HEARTH_OIDC_CLIENT_ID || 'hearth-console';
const clientSecret = process.env.HEARTH_OIDC_CLIENT_SECRET || 'not-a-real-secret';
const clientAuth = process.env.HEARTH_OIDC_CLIENT_AUTH || 'client_secret_basic';

const groups = { alice: ['staff', 'hearth-admins'], bob: ['staff', 'hearth-readers'] };

function configuration(redirectUri) {
  return {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: clientAuth,
    }],
    // The claims of the scopes go into the ID token (not only to userinfo), as hearth-server
    // reads the role claim from the ID token.
    conformIdTokenClaims: false,
    scopes: ['openid', 'profile', 'groups'],
    claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ['hearth-test-only-cookie-key'] },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, preferred_username: id, groups: groups[id] || ['staff'] }),
    }),
    // Consent is granted at once: the tests drive the login page only.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile groups');
      await grant.save();
      return grant;
    },
    ttl: { AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 600, Grant: 600 },
  };
}

const tls = process.env.HEARTH_OIDC_TLS_CERT && process.env.HEARTH_OIDC_TLS_KEY;
const scheme = tls ? 'https' : 'http';
let handler = null;
const respond = (req, res) => {
  if (handler) return handler(req, res);
  if (req.method === 'POST' && req.url === '/test/client') {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const redirectUri = new URLSearchParams(body).get('redirect_uri');
      if (!redirectUri) {
        res.writeHead(400).end('redirect_uri missing\n');
        return;
      }
      const { port } = server.address();
      const provider = new Provider(`${scheme}://127.0.0.1:${port}`, configuration(redirectUri));
      provider.on('server_error', (ctx, err) => console.error('provider error:', err));
      handler = provider.callback();
      res.writeHead(204).end();
    });
    return;
  }
  res.writeHead(503).end('the client is not configured yet (POST /test/client)\n');
};
const server = tls
  ? https.createServer({
    cert: readFileSync(process.env.HEARTH_OIDC_TLS_CERT),
    key: readFileSync(process.env.HEARTH_OIDC_TLS_KEY),
  }, respond)
  : http.createServer(respond);

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`listening provider=127.0.0.1:${port} \n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
