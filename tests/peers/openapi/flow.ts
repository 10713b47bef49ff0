// The seed's flow through a client typed only by the service's OpenAPI document (schema.d.ts, generated beside this file):
// an agent registers, tops up on the sandbox rail and reads its balance; a publisher registers and prices its pages; the
// crawler's verify is charged once and refused when the wallet is short. Every field read here must be in the document:
// an operation that loses its request or response schema no longer compiles.
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

export async function run(baseUrl: string, domain: string) {
  const client = createClient<paths>({ baseUrl });
  const unique = `${Date.now()}${Math.floor(Math.random() * 1e9)}`;

  const publisher = await client.POST('/api/publisher/auth/register', {
    body: { email: `publisher${unique}@example.com`, password: 'correct horse battery staple', name: 'Flow News', domain },
  });
  if (!publisher.data) throw new Error(`publisher registration: ${publisher.response.status} ${JSON.stringify(publisher.error)}`);
  const publisherSession = { Authorization: `Bearer ${publisher.data.token}` };
  const rule = await client.POST('/api/publisher/rules', {
    headers: publisherSession,
    body: { urlPattern: '/article/', accessMode: 'pay', price: 0.01, billingType: 'per-request' },
  });
  if (!rule.data) throw new Error(`rule: ${rule.response.status} ${JSON.stringify(rule.error)}`);

  const agent = await client.POST('/api/agent/auth/register', {
    body: { email: `agent${unique}@example.com`, password: 'correct horse battery staple', name: 'Flow Crawler', crawlerType: 'FlowBot' },
  });
  if (!agent.data) throw new Error(`agent registration: ${agent.response.status} ${JSON.stringify(agent.error)}`);
  const session = { Authorization: `Bearer ${agent.data.token}` };
  const crawlerToken: string = agent.data.crawler.crawlerToken ?? '';

  const short = await client.POST('/api/v1/access/verify', {
    headers: { 'X-AISA-Crawler-Token': crawlerToken },
    body: { publisherDomain: domain, resourceUrl: '/article/1', crawlerAutoPrice: true },
  });
  const refusal = short.error;

  const topUp = await client.POST('/api/agent/topup/create-session', { headers: session, body: { amount: 5, rail: 'sandbox' } });
  if (!topUp.data) throw new Error(`top-up: ${topUp.response.status} ${JSON.stringify(topUp.error)}`);

  const granted = await client.POST('/api/v1/access/verify', {
    headers: { 'X-AISA-Crawler-Token': crawlerToken },
    body: { publisherDomain: domain, resourceUrl: '/article/1', crawlerAutoPrice: true },
  });
  if (!granted.data) throw new Error(`verify: ${granted.response.status} ${JSON.stringify(granted.error)}`);

  const info = await client.GET('/api/agent/info', { headers: session });
  const statement = await client.GET('/api/agent/transactions', { headers: session });
  const earnings = await client.GET('/api/publisher/earnings', { headers: publisherSession });
  return {
    ruleId: rule.data.rule.id,
    refusedStatus: short.response.status,
    refusedError: refusal?.error ?? null,
    refusedOffers: (refusal?.offers ?? []).map(o => `${o.rail}:${o.kind}`),
    topUpRail: topUp.data.rail,
    topUpDepositId: topUp.data.depositId ?? null,
    accessGranted: granted.data.accessGranted,
    charged: granted.data.charge?.amount ?? null,
    balanceAfter: granted.data.charge?.crawlerBalanceAfter ?? null,
    balance: info.data?.crawler.balance ?? null,
    transactions: (statement.data?.transactions ?? []).map(t => `${t.type}:${t.amount}`),
    grossCharges: earnings.data?.earnings.grossCharges ?? null,
  };
}
