// Cloudflare's web-bot-auth (0.1.3) signing a content request as a Web Bot Auth crawler does (RFC 9421, Ed25519,
// tag "web-bot-auth", a fresh 64-byte nonce): prints JSON {signature, signatureInput, keyId, publicJwk}.
// Usage: node web-bot-auth-sign.mjs <json: {url, jwk?, created?, expires?, components?}>; without jwk a new key pair is
// made (WebCrypto) and its private JWK printed too, for the next calls.
import { signatureHeaders, jwkToKeyID, helpers } from 'web-bot-auth';
import { signerFromJWK } from 'web-bot-auth/crypto';

const input = JSON.parse(process.argv[2]);
let jwk = input.jwk;
if (!jwk) {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const { kty, crv, x, d } = await crypto.subtle.exportKey('jwk', pair.privateKey);
  jwk = { kty, crv, x, d };
}
const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
const now = Math.floor(Date.now() / 1000);
const created = new Date((input.created ?? now) * 1000);
const expires = new Date((input.expires ?? now + 60) * 1000);
const headers = await signatureHeaders(new Request(input.url), await signerFromJWK(jwk), {
  created,
  expires,
  components: input.components ?? ['@authority', '@path'],
});
process.stdout.write(JSON.stringify({
  signature: headers['Signature'],
  signatureInput: headers['Signature-Input'],
  keyId: await jwkToKeyID(publicJwk, helpers.WEBCRYPTO_SHA256, helpers.BASE64URL_DECODE),
  publicJwk,
  jwk,
}));
