// A real OpenID Connect provider (panva/node-oidc-provider) on 127.0.0.1 for the SSO tests: its development
// sign-in form accepts any login name; the account "<name>" has the email <name>@example.com and the groups
// given for it on the command line.
//   node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI '{"alice": ["monitoring-admins"]}'
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri, groupsJson] = process.argv.slice(2);
const groups = JSON.parse(groupsJson || "{}");

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
    grant_types: ["authorization_code"], response_types: ["code"], token_endpoint_auth_method: "client_secret_basic" }],
  claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
  scopes: ["openid", "email", "groups"],
  conformIdTokenClaims: false,  // the id_token carries email and groups itself (no userinfo round trip)
  cookies: { keys: ["test-only-cookie-key"] },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    return { accountId: id, async claims() {
      return { sub: id, email: `${id}@example.com`, email_verified: true, groups: groups[id] || [] };
    } };
  },
});
provider.proxy = false;
provider.listen(Number(port), "127.0.0.1", () => console.log(`ready http://127.0.0.1:${port}`));
