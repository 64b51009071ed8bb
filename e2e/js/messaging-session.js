// The real amazon-chime-sdk-js MessagingSession against Belfry, in Node 20:
// it resolves the endpoint with GetMessagingSessionEndpoint, connects over
// wss:// with the presigned URL the SDK builds, and checks what an app sees:
// SESSION_ESTABLISHED, the prefetched CHANNEL_DETAILS, and a
// CREATE_CHANNEL_MESSAGE sent by another user through
// @aws-sdk/client-chime-sdk-messaging. e2e/js_test.go runs it against the
// built binary with the generated certificate trusted (NODE_EXTRA_CA_CERTS).
//
// Environment: BELFRY_ENDPOINT (https://host:port), BELFRY_USER_ARN (who
// connects), BELFRY_SENDER_ARN, BELFRY_CHANNEL_ARN, BELFRY_PREFETCHED (the
// content of a message already in the channel), AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY. Prints one JSON line per step; exits 0 when every
// check passed.
'use strict';

// Node 20 has no WebSocket or CloseEvent globals; browsers do. The SDK
// uses both: ws is the WebSocket, and a small CloseEvent stands in.
globalThis.WebSocket = require('ws');
if (typeof globalThis.CloseEvent === 'undefined') {
  globalThis.CloseEvent = class CloseEvent extends Event {
    constructor(type, init = {}) {
      super(type);
      this.code = init.code;
      this.reason = init.reason;
      this.wasClean = init.wasClean;
    }
  };
}

const {
  ConsoleLogger,
  DefaultMessagingSession,
  LogLevel,
  MessagingSessionConfiguration,
  PrefetchOn,
} = require('amazon-chime-sdk-js');
const { ChimeSDKMessagingClient, SendChannelMessageCommand } = require('@aws-sdk/client-chime-sdk-messaging');

const env = name => {
  const v = process.env[name];
  if (!v) {
    fail(`${name} is not set`);
  }
  return v;
};

function fail(why, extra) {
  console.log(JSON.stringify({ step: 'fail', why, ...extra }));
  process.exit(1);
}

function step(name, detail) {
  console.log(JSON.stringify({ step: name, ...detail }));
}

// waitFor resolves with the first received message matching pred, looking
// at those already received too.
const received = [];
const waiters = [];
function waitFor(what, pred, ms = 30000) {
  const hit = received.find(pred);
  if (hit) {
    return Promise.resolve(hit);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${what} within ${ms} ms; received ${JSON.stringify(received.map(m => m.type))}`)),
      ms
    );
    waiters.push({ pred, resolve: m => (clearTimeout(timer), resolve(m)) });
  });
}

async function main() {
  const endpoint = env('BELFRY_ENDPOINT');
  const userArn = env('BELFRY_USER_ARN');
  const senderArn = env('BELFRY_SENDER_ARN');
  const channelArn = env('BELFRY_CHANNEL_ARN');
  const prefetched = env('BELFRY_PREFETCHED');
  const client = new ChimeSDKMessagingClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: env('AWS_ACCESS_KEY_ID'), secretAccessKey: env('AWS_SECRET_ACCESS_KEY') },
  });

  const config = new MessagingSessionConfiguration(userArn, null, undefined, client);
  config.prefetchOn = PrefetchOn.Connect;
  const session = new DefaultMessagingSession(config, new ConsoleLogger('belfry-e2e', LogLevel.WARN));
  let startedResolve, stopped;
  const didStart = new Promise(resolve => (startedResolve = resolve));
  const didStop = new Promise(resolve => (stopped = resolve));
  session.addObserver({
    messagingSessionDidStart: () => startedResolve(true),
    messagingSessionDidReceiveMessage: message => {
      received.push(message);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].pred(message)) {
          waiters.splice(i, 1)[0].resolve(message);
        }
      }
    },
    messagingSessionDidStop: event => stopped(event),
  });

  // start() resolves on SESSION_ESTABLISHED and rejects on a close before it.
  await session.start();
  // Observers are called asynchronously (AsyncScheduler.nextTick).
  if (!(await Promise.race([didStart, new Promise(r => setTimeout(() => r(false), 30000))]))) {
    fail('messagingSessionDidStart was not called after SESSION_ESTABLISHED');
  }
  step('SESSION_ESTABLISHED');

  const details = await waitFor(
    'CHANNEL_DETAILS',
    m => m.type === 'CHANNEL_DETAILS' && JSON.parse(m.payload).Channel.ChannelArn === channelArn
  );
  const d = JSON.parse(details.payload);
  const contents = (d.ChannelMessages || []).map(m => m.Content);
  if (!contents.includes(prefetched) || typeof d.ChannelMessagesHasMore !== 'boolean' || !Array.isArray(d.ChannelMemberships)) {
    fail('CHANNEL_DETAILS lacks the channel history', { payload: d });
  }
  step('CHANNEL_DETAILS', { messages: contents.length, memberships: d.ChannelMemberships.length });

  const content = `hello from node ${Date.now()}`;
  const sent = await client.send(
    new SendChannelMessageCommand({
      ChannelArn: channelArn,
      Content: content,
      Type: 'STANDARD',
      Persistence: 'PERSISTENT',
      ChimeBearer: senderArn,
    })
  );
  const created = await waitFor(
    'CREATE_CHANNEL_MESSAGE',
    m => m.type === 'CREATE_CHANNEL_MESSAGE' && JSON.parse(m.payload).MessageId === sent.MessageId
  );
  const m = JSON.parse(created.payload);
  if (
    m.Content !== content ||
    m.Sender.Arn !== senderArn ||
    m.ChannelArn !== channelArn ||
    m.Persistence !== 'PERSISTENT' ||
    created.headers['x-amz-chime-message-type'] !== 'STANDARD' ||
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(m.CreatedTimestamp)
  ) {
    fail('CREATE_CHANNEL_MESSAGE is not what was sent', { headers: created.headers, payload: m });
  }
  step('CREATE_CHANNEL_MESSAGE', { messageId: m.MessageId });

  session.stop();
  const event = await Promise.race([didStop, new Promise(r => setTimeout(() => r(null), 30000))]);
  if (!event) {
    fail('messagingSessionDidStop was not called after stop()');
  }
  step('stopped', { code: event.code });
  console.log('OK');
}

main().then(
  () => process.exit(0),
  err => fail(String((err && err.stack) || err), err && err.code ? { code: err.code, reason: err.reason } : {})
);
