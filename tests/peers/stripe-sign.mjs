// The official Stripe library (stripe 23.1.0) signing a webhook payload as Stripe does, offline: prints the
// Stripe-Signature header. Usage: node stripe-sign.mjs <payload file> <secret> [unix timestamp, default now]
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';

const [file, secret, timestamp] = process.argv.slice(2);
const stripe = new Stripe('sk_test_offline');
const payload = readFileSync(file, 'utf8');
process.stdout.write(stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp: Number(timestamp) } : {}) }));
