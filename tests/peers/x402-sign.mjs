// The official x402 client (@x402/core + @x402/evm 2.27.0) signing a payment for given requirements, without
// sending it: tests change the requirements (another payTo, network, a short validity) before it signs.
// Usage: node x402-sign.mjs <PaymentRequired as JSON> <payer private key> <network, eip155:<id>>   prints the PAYMENT-SIGNATURE value
import { privateKeyToAccount } from 'viem/accounts';
import { x402Client, x402HTTPClient } from '@x402/core/client';
import { ExactEvmScheme } from '@x402/evm/exact/client';

const [paymentRequiredJson, key, network] = process.argv.slice(2);
const client = new x402Client().register(network, new ExactEvmScheme(privateKeyToAccount(key))).setSpendControls(false);
const http = new x402HTTPClient(client);
const payload = await http.createPaymentPayload(JSON.parse(paymentRequiredJson));
const headers = http.encodePaymentSignatureHeader(payload);
process.stdout.write(headers['PAYMENT-SIGNATURE']);
