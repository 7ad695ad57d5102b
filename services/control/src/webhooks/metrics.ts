import { Counter, type Registry } from 'prom-client';

/** The results of one webhook request. */
export const WEBHOOK_ATTEMPT_RESULTS = [
  'success',
  'http_error',
  'timeout',
  'network_error',
] as const;
export type WebhookAttemptResult = (typeof WEBHOOK_ATTEMPT_RESULTS)[number];

/** How the delivery of one outcome ended. */
export const WEBHOOK_DELIVERY_RESULTS = ['delivered', 'dead_lettered'] as const;
export type WebhookDeliveryResult = (typeof WEBHOOK_DELIVERY_RESULTS)[number];

type CounterOf<Labels extends Record<string, string>> = Omit<
  Counter<Extract<keyof Labels, string>>,
  'inc'
> & { inc(labels: Labels, value?: number): void };

export function createWebhookMetrics(registry: Registry) {
  return {
    attempts: new Counter({
      name: 'mqft_control_webhook_attempts_total',
      help: `Webhook requests, by outcome (${WEBHOOK_ATTEMPT_RESULTS.join(', ')})`,
      labelNames: ['outcome'] as const,
      registers: [registry],
    }) as CounterOf<{ outcome: WebhookAttemptResult }>,
    deliveries: new Counter({
      name: 'mqft_control_webhook_deliveries_total',
      help: `Outcomes whose webhook delivery ended, by outcome (${WEBHOOK_DELIVERY_RESULTS.join(', ')})`,
      labelNames: ['outcome'] as const,
      registers: [registry],
    }) as CounterOf<{ outcome: WebhookDeliveryResult }>,
  };
}

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;
