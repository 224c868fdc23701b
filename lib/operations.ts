import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MetricName, metricsNamespace, serviceName } from '../lambdas/core/metric-names';
import { type FunctionName, functions as functionDeclarations } from '../lambdas/routes';

/** One alarm's setting. Unset fields keep the defaults of {@link defaultAlarmSettings}. */
export interface AlarmSetting {
  /**
   * Creates this alarm.
   * @default true
   */
  readonly enabled?: boolean;
  /** The alarm fires when the statistic reaches (>=) this value in a period. */
  readonly threshold?: number;
  /** Periods looked at. */
  readonly evaluationPeriods?: number;
  /**
   * Of those, how many must breach.
   * @default - all of them
   */
  readonly datapointsToAlarm?: number;
  /** Length of one period. */
  readonly period?: Duration;
}

/** The alarms the gateway creates, each with a setting that changes or turns it off. */
export interface GatewayAlarmSettings {
  /** Per function: `Errors` (uncaught failures, timeouts, out of memory). */
  readonly functionErrors?: AlarmSetting;
  /** Per function: `Throttles` (the account's or function's concurrency exhausted). */
  readonly functionThrottles?: AlarmSetting;
  /** `PostsFailed`: posts to live connections that failed with something other than 410. */
  readonly postsFailed?: AlarmSetting;
  /** WebSocket API `IntegrationError`: a route's Lambda failed or timed out (clients saw an error). */
  readonly webSocketIntegrationErrors?: AlarmSetting;
  /** HTTP API `5xx`: answers the API's callers got as server errors. */
  readonly httpServerErrors?: AlarmSetting;
  /** A watched queue's dead-letter queue holds messages ({@link GatewayOperations.watchQueue}). */
  readonly deadLetters?: AlarmSetting;
}

export interface GatewayAlarmsProps extends GatewayAlarmSettings {
  /**
   * Creates the alarms (all of them: also the direct-send failure queue's) and their topic. `false` creates none.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Where the alarms notify (ALARM and OK). A topic the app owns; its key, if any, must let CloudWatch use it.
   * @default - a topic created here, encrypted with a key of its own that CloudWatch may use, TLS only
   */
  readonly topic?: sns.ITopic;
  /**
   * Subscribes this address to the alarm topic (AWS sends a confirmation mail first).
   * @default - no subscription
   */
  readonly email?: string;
}

/** What the alarms use when a setting leaves a field unset. Five-minute periods: a blip is not a page. */
export const defaultAlarmSettings: Readonly<Record<keyof GatewayAlarmSettings, Required<AlarmSetting>>> = {
  functionErrors: {
    enabled: true,
    threshold: 5,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    period: Duration.minutes(5),
  },
  functionThrottles: {
    enabled: true,
    threshold: 1,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    period: Duration.minutes(5),
  },
  postsFailed: {
    enabled: true,
    threshold: 10,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    period: Duration.minutes(5),
  },
  webSocketIntegrationErrors: {
    enabled: true,
    threshold: 5,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    period: Duration.minutes(5),
  },
  httpServerErrors: {
    enabled: true,
    threshold: 5,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    period: Duration.minutes(5),
  },
  deadLetters: { enabled: true, threshold: 1, evaluationPeriods: 1, datapointsToAlarm: 1, period: Duration.minutes(1) },
};

/** A queue and its dead-letter queue, shown on the dashboard and alarmed on (the fan-out's slice queue, say). */
export interface WatchedQueue {
  /** Shown in widget titles and the alarm's description, e.g. `broadcastSlices`. */
  readonly name: string;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The dead-letter alarm the queue's owner already built: it joins the topic instead of a second one being made.
   * @default - an alarm built here with the `deadLetters` setting
   */
  readonly deadLetterAlarm?: cloudwatch.Alarm;
}

export interface GatewayOperationsProps {
  /** Every function of the route table, by name (widgets and alarms per function, in the table's order). */
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
  readonly webSocketApi: apigwv2.IWebSocketApi;
  readonly webSocketStage: apigwv2.IWebSocketStage;
  readonly httpApi: apigwv2.IHttpApi;
  readonly httpStage: apigwv2.IHttpStage;
  /**
   * Creates the dashboard.
   * @default true
   */
  readonly dashboard?: boolean;
  /** @default - alarms on, with {@link defaultAlarmSettings} and a topic created here */
  readonly alarms?: GatewayAlarmsProps;
}

/**
 * Which dashboard graph shows each product metric. A `Record` over {@link MetricName}: a metric added to the
 * declaration does not compile until it is placed here, so the dashboard never silently misses one.
 */
const productMetricGraph: Record<MetricName, 'connections' | 'delivery' | 'refusals'> = {
  [MetricName.ConnectionsOpened]: 'connections',
  [MetricName.ConnectionsClosed]: 'connections',
  [MetricName.MessagesDelivered]: 'delivery',
  [MetricName.StaleConnectionsRemoved]: 'delivery',
  [MetricName.PostsFailed]: 'delivery',
  [MetricName.AuthRefused]: 'refusals',
};

const graphTitles = {
  connections: 'Connections opened / closed (EMF, sum per 5 min)',
  delivery: 'Messages delivered, stale connections removed, posts failed (EMF, sum per 5 min)',
} as const;

const WIDGET_WIDTH = 12;
const WIDGET_HEIGHT = 6;

/**
 * What an operator sees: a CloudWatch dashboard (the product's EMF metrics from `lambdas/core/metric-names.ts`, the
 * APIs' metrics, each route-table function's errors and throttles, watched queues) and alarms that notify one SNS
 * topic. Every alarm, and the direct-send failure alarm passed in through {@link addAlarm}, has its runbook entry in
 * the README ("Operating it").
 *
 * @example
 * const operations = new GatewayOperations(this, 'Operations', { functions, webSocketApi, webSocketStage, httpApi,
 *   httpStage, alarms: { email: 'oncall@example.com', postsFailed: { threshold: 50 } } });
 * operations.addAlarm(directSendFailures.alarm);
 * operations.watchQueue({ name: 'broadcastSlices', queue, deadLetterQueue });
 */
export class GatewayOperations extends Construct {
  /** Undefined when the dashboard is turned off. */
  readonly dashboard?: cloudwatch.Dashboard;
  /** Undefined when alarms are turned off. */
  readonly alarmTopic?: sns.ITopic;
  /** Every alarm that notifies the topic: those built here and those added with {@link addAlarm}. */
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly alarmsEnabled: boolean;
  private readonly settings: GatewayAlarmSettings;

  constructor(scope: Construct, id: string, props: GatewayOperationsProps) {
    super(scope, id);
    const alarms = props.alarms ?? {};
    this.alarmsEnabled = alarms.enabled ?? true;
    this.settings = alarms;
    if (this.alarmsEnabled) {
      this.alarmTopic = alarms.topic ?? this.createTopic();
      if (alarms.email) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(alarms.email));
    }

    const names = Object.keys(functionDeclarations) as FunctionName[];
    if (props.dashboard ?? true) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
        // The default range an operator opens it on; the graphs' own periods stay 5 minutes.
        defaultInterval: Duration.hours(3),
      });
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({
          markdown:
            `# ${Stack.of(this).stackName}: realtime gateway\n` +
            'Product metrics (namespace `' +
            metricsNamespace +
            '`), the APIs, each function. Alarms and what to do about each: README, "Operating it".',
          width: 24,
          height: 2,
        }),
      );
      this.dashboard.addWidgets(
        graph(graphTitles.connections, productMetrics('connections')),
        graph(graphTitles.delivery, productMetrics('delivery')),
      );
      this.dashboard.addWidgets(
        graph('Authorizer refusals by reason (EMF, sum per 5 min)', [refusalsByReason()]),
        graph('WebSocket API: connects, messages, errors (sum per 5 min)', [
          apiGraphMetric(props.webSocketApi.apiId, props.webSocketStage.stageName, 'ConnectCount'),
          apiGraphMetric(props.webSocketApi.apiId, props.webSocketStage.stageName, 'MessageCount'),
          apiGraphMetric(props.webSocketApi.apiId, props.webSocketStage.stageName, 'IntegrationError'),
          apiGraphMetric(props.webSocketApi.apiId, props.webSocketStage.stageName, 'ClientError'),
          apiGraphMetric(props.webSocketApi.apiId, props.webSocketStage.stageName, 'ExecutionError'),
        ]),
      );
      this.dashboard.addWidgets(
        graph('HTTP API: requests, 4xx, 5xx (sum per 5 min)', [
          apiGraphMetric(props.httpApi.apiId, props.httpStage.stageName, 'Count'),
          apiGraphMetric(props.httpApi.apiId, props.httpStage.stageName, '4xx'),
          apiGraphMetric(props.httpApi.apiId, props.httpStage.stageName, '5xx'),
        ]),
        graph(
          'API latency: WebSocket integration, HTTP API (p99 per 5 min, ms)',
          [
            apiGraphMetric(props.webSocketApi.apiId, props.webSocketStage.stageName, 'IntegrationLatency', 'p99'),
            apiGraphMetric(props.httpApi.apiId, props.httpStage.stageName, 'Latency', 'p99'),
          ],
          'ms',
        ),
      );
      this.dashboard.addWidgets(
        graph(
          'Lambda errors per function (sum per 5 min)',
          names.map((name) => props.functions[name].metricErrors({ label: name, period: Duration.minutes(5) })),
        ),
        graph(
          'Lambda throttles per function (sum per 5 min)',
          names.map((name) => props.functions[name].metricThrottles({ label: name, period: Duration.minutes(5) })),
        ),
      );
    }

    for (const name of names) {
      const fn = props.functions[name];
      this.createAlarm(
        `${pascalCase(name)}Errors`,
        'functionErrors',
        (period) => fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        `Function ${name} failed (uncaught error, timeout or out of memory)`,
      );
      this.createAlarm(
        `${pascalCase(name)}Throttles`,
        'functionThrottles',
        (period) => fn.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
        `Function ${name} was throttled (concurrency exhausted)`,
      );
    }
    this.createAlarm(
      'PostsFailed',
      'postsFailed',
      (period) => productMetric(MetricName.PostsFailed, period),
      'Posts to live connections failed with an error other than 410 (management API throttling or outage)',
    );
    this.createAlarm(
      'WebSocketIntegrationErrors',
      'webSocketIntegrationErrors',
      (period) =>
        apiMetric(props.webSocketApi.apiId, props.webSocketStage.stageName, 'IntegrationError', 'Sum', period),
      'WebSocket routes whose Lambda integration failed (clients got an internal error or their connect refused)',
    );
    this.createAlarm(
      'HttpServerErrors',
      'httpServerErrors',
      (period) => apiMetric(props.httpApi.apiId, props.httpStage.stageName, '5xx', 'Sum', period),
      'HTTP API callers got 5xx answers',
    );
  }

  /**
   * Makes an alarm built elsewhere (the direct-send failure alarm, a fan-out DLQ alarm) notify this construct's
   * topic; nothing happens when alarms are turned off.
   *
   * @example
   * operations.addAlarm(directSendFailures.alarm);
   */
  addAlarm(alarm: cloudwatch.Alarm): void {
    if (!this.alarmTopic) return;
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    alarm.addOkAction(new SnsAction(this.alarmTopic));
    this.alarms.push(alarm);
  }

  /**
   * Shows a queue's progress (messages waiting, in flight, done, age of the oldest) and its dead-letter queue's depth
   * on the dashboard, and alarms when the dead-letter queue holds a message (setting `deadLetters`). The fan-out's
   * slice queue joins here.
   *
   * @example
   * operations.watchQueue({ name: 'broadcastSlices', queue: slices, deadLetterQueue: slicesDlq });
   */
  watchQueue(watched: WatchedQueue): void {
    const period = Duration.minutes(1);
    this.dashboard?.addWidgets(
      graph(
        `Queue ${watched.name}: progress (per minute)`,
        [
          watched.queue.metricApproximateNumberOfMessagesVisible({ label: 'waiting', period, statistic: 'Maximum' }),
          watched.queue.metricApproximateNumberOfMessagesNotVisible({
            label: 'in flight',
            period,
            statistic: 'Maximum',
          }),
          watched.queue.metricNumberOfMessagesDeleted({ label: 'done', period, statistic: 'Sum' }),
        ],
        undefined,
        [watched.queue.metricApproximateAgeOfOldestMessage({ label: 'oldest (s)', period, statistic: 'Maximum' })],
      ),
      graph(`Queue ${watched.name}: dead letters (per minute)`, [
        watched.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          label: 'in the DLQ',
          period,
          statistic: 'Maximum',
        }),
      ]),
    );
    if (watched.deadLetterAlarm) {
      this.addAlarm(watched.deadLetterAlarm);
      return;
    }
    this.createAlarm(
      `${pascalCase(watched.name)}DeadLetters`,
      'deadLetters',
      (alarmPeriod) =>
        watched.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: alarmPeriod,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
      `Messages of queue ${watched.name} failed every receive and wait in its dead-letter queue`,
    );
  }

  private createAlarm(
    id: string,
    setting: keyof GatewayAlarmSettings,
    metric: (period: Duration) => cloudwatch.IMetric,
    meaning: string,
  ): void {
    if (!this.alarmsEnabled) return;
    const chosen = { ...defaultAlarmSettings[setting], ...definedFields(this.settings[setting]) };
    if (!chosen.enabled) return;
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: `${meaning}. What to do: README, "Operating it", row ${setting}.`,
      metric: metric(chosen.period),
      threshold: chosen.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: chosen.evaluationPeriods,
      datapointsToAlarm: Math.min(chosen.datapointsToAlarm, chosen.evaluationPeriods),
      // Every metric here is published only when something happens: no data means nothing went wrong.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.addAlarm(alarm);
  }

  /**
   * cdk-nag wants the topic encrypted (SNS2) and TLS only (SNS3). CloudWatch cannot publish to a topic under the
   * AWS-managed `aws/sns` key (its key policy cannot name CloudWatch), so the topic gets a key of its own whose policy
   * lets CloudWatch encrypt for it.
   */
  private createTopic(): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the realtime gateway alarm topic; CloudWatch may use it to publish alarms',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Realtime gateway alarms',
      masterKey: key,
      enforceSSL: true,
    });
    return topic;
  }
}

function definedFields(setting: AlarmSetting | undefined): AlarmSetting {
  return Object.fromEntries(Object.entries(setting ?? {}).filter(([, value]) => value !== undefined));
}

/** Labelled for a graph; an alarm's metric gets no label, so it synthesizes as a plain metric, not a math list. */
function productMetric(name: MetricName, period = Duration.minutes(5), label?: string): cloudwatch.Metric {
  // Powertools adds the `service` dimension to every handler metric.
  return new cloudwatch.Metric({
    namespace: metricsNamespace,
    metricName: name,
    dimensionsMap: { service: serviceName },
    statistic: cloudwatch.Stats.SUM,
    period,
    label,
  });
}

function productMetrics(graphName: 'connections' | 'delivery'): cloudwatch.Metric[] {
  return (Object.keys(productMetricGraph) as MetricName[])
    .filter((name) => productMetricGraph[name] === graphName)
    .map((name) => productMetric(name, Duration.minutes(5), name));
}

/**
 * The authorizers count refusals with a `reason` dimension (authorizer-telemetry.ts): a SEARCH finds every reason
 * that occurred, so a new reason code shows up without a change here.
 */
function refusalsByReason(): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression:
      `SEARCH('{${metricsNamespace},authorizer,reason,service} MetricName="${MetricName.AuthRefused}" ` +
      `service="${serviceName}"', 'Sum', 300)`,
    usingMetrics: {},
    label: '',
    period: Duration.minutes(5),
  });
}

/** {@link apiMetric} labelled with its name, for a graph. */
function apiGraphMetric(apiId: string, stage: string, metricName: string, statistic = 'Sum'): cloudwatch.Metric {
  return apiMetric(apiId, stage, metricName, statistic, Duration.minutes(5), metricName);
}

/** An API Gateway metric of one stage (WebSocket and HTTP APIs publish `ApiId` and `Stage`). */
function apiMetric(
  apiId: string,
  stage: string,
  metricName: string,
  statistic = 'Sum',
  period = Duration.minutes(5),
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/ApiGateway',
    metricName,
    dimensionsMap: { ApiId: apiId, Stage: stage },
    statistic,
    period,
    label,
  });
}

function graph(
  title: string,
  left: cloudwatch.IMetric[],
  unit?: string,
  right: cloudwatch.IMetric[] = [],
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title,
    left,
    right,
    width: WIDGET_WIDTH,
    height: WIDGET_HEIGHT,
    leftYAxis: { min: 0, label: unit, showUnits: false },
  });
}

function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
