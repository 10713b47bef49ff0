// The official x402 facilitator (@x402/core + @x402/evm 2.27.0) as an HTTP service, settling on a local node:
// POST /verify, POST /settle, GET /supported, the bodies of the x402 facilitator API, for protocol versions 2 and 1.
// Usage: node x402-facilitator.mjs <rpc url> <chain id> [<rpc url> <chain id> ...] <facilitator private key> <port>
//   settles on each chain given; prints "listening <url>"
import http from 'node:http';
import { createWalletClient, defineChain, http as viemHttp, publicActions } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { x402Facilitator } from '@x402/core/facilitator';
import { ExactEvmScheme } from '@x402/evm/exact/facilitator';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { ExactEvmSchemeV1 } from '@x402/evm/exact/v1/facilitator';
import { EVM_NETWORK_CHAIN_ID_MAP } from '@x402/evm/v1';

const args = process.argv.slice(2);
const portText = args.pop();
const key = args.pop();
const account = privateKeyToAccount(key);
const facilitator = new x402Facilitator();
for (let i = 0; i < args.length; i += 2) {
  const [rpc, chainId] = [args[i], Number(args[i + 1])];
  const chain = defineChain({ id: chainId, name: `local-${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpc] } } });
  const wallet = createWalletClient({ chain, transport: viemHttp(rpc), account }).extend(publicActions);
  const signer = toFacilitatorEvmSigner({ ...wallet, address: account.address });
  facilitator.register(`eip155:${chainId}`, new ExactEvmScheme(signer));
  // Protocol version 1 names networks; where this chain id has a name, version 1 is settled too.
  const v1Name = Object.entries(EVM_NETWORK_CHAIN_ID_MAP).find(([, id]) => id === chainId)?.[0];
  if (v1Name) facilitator.registerV1(v1Name, new ExactEvmSchemeV1(signer));
}

const server = http.createServer(async (request, response) => {
  const send = (status, body) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  try {
    if (request.method === 'GET' && request.url === '/supported') {
      return send(200, facilitator.getSupported());
    }
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text);
    if (request.method === 'POST' && request.url === '/verify') {
      return send(200, await facilitator.verify(body.paymentPayload, body.paymentRequirements));
    }
    if (request.method === 'POST' && request.url === '/settle') {
      return send(200, await facilitator.settle(body.paymentPayload, body.paymentRequirements));
    }
    send(404, { error: 'not found' });
  } catch (error) {
    send(500, { error: String(error?.message ?? error) });
  }
});
server.listen(Number(portText), '127.0.0.1', () => console.log(`listening http://127.0.0.1:${server.address().port}/`));
