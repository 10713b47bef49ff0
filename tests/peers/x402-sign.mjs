// The official x402 client (@x402/core + @x402/evm 2.27.0) signing a payment for given requirements, without
// sending it: tests change the requirements (another payTo, network, a short validity) before it signs.
// Usage: node x402-sign.mjs <PaymentRequired as JSON, version 2 or 1> <payer private key> <network, eip155:<id>>
//   prints the PAYMENT-SIGNATURE (version 2) or X-PAYMENT (version 1) value
import { privateKeyToAccount } from 'viem/accounts';
import { x402Client, x402HTTPClient } from '@x402/core/client';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { ExactEvmSchemeV1 } from '@x402/evm/exact/v1/client';
import { EVM_NETWORK_CHAIN_ID_MAP } from '@x402/evm/v1';

const [paymentRequiredJson, key, network] = process.argv.slice(2);
const account = privateKeyToAccount(key);
const client = new x402Client().register(network, new ExactEvmScheme(account)).setSpendControls(false);
const v1Name = Object.entries(EVM_NETWORK_CHAIN_ID_MAP).find(([, id]) => `eip155:${id}` === network)?.[0];
if (v1Name) client.registerV1(v1Name, new ExactEvmSchemeV1(account));
const http = new x402HTTPClient(client);
const payload = await http.createPaymentPayload(JSON.parse(paymentRequiredJson));
const headers = http.encodePaymentSignatureHeader(payload);
process.stdout.write(headers['PAYMENT-SIGNATURE'] ?? headers['X-PAYMENT']);
