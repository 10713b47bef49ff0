// The official x402 client (@x402/fetch + @x402/evm 2.27.0) as a paying agent: sends a request, pays the 402 it
// gets with an EIP-3009 authorization signed by the given key, and prints what came back.
// Usage: node x402-pay.mjs <url> <method> <payer private key> <network, eip155:<id>> [header:value ...]
//   prints {"status", "body", "paymentResponse", "paymentSignature"} as one JSON line
import { privateKeyToAccount } from 'viem/accounts';
import { x402Client } from '@x402/core/client';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { wrapFetchWithPayment, decodePaymentResponseHeader } from '@x402/fetch';

const [url, method, key, network, ...headerArgs] = process.argv.slice(2);
const headers = Object.fromEntries(headerArgs.map(h => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1)]));
const client = new x402Client().register(network, new ExactEvmScheme(privateKeyToAccount(key))).setSpendControls(false);
// The payment header the client sends, kept so a test can replay it.
let paymentSignature = null;
const recordingFetch = (input, init) => {
  const sent = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  paymentSignature = sent.get('PAYMENT-SIGNATURE') ?? paymentSignature;
  return fetch(input, init);
};
const pay = wrapFetchWithPayment(recordingFetch, client);
let result;
try {
  const response = await pay(url, { method, headers });
  const header = response.headers.get('PAYMENT-RESPONSE');
  result = { status: response.status, body: await response.text(), paymentResponse: header ? decodePaymentResponseHeader(header) : null, paymentSignature };
} catch (error) {
  result = { status: 0, error: String(error?.message ?? error), paymentSignature };
}
console.log(JSON.stringify(result));
