// kafkajs 2.2.4, unchanged, against the built `beck broker`.
//
// Run: node --test tests/integration/kafkajs/test_kafkajs.mjs (CTest:
// integration_kafkajs; tests/integration/kafkajs/setup.sh installs kafkajs).
// One broker for the file, started from $BECK_BIN (else build/bin/beck) on a
// free port and a temporary data dir, stopped with SIGTERM at the end (it
// must exit 0). Every test uses its own topics and groups and checks the data
// exactly: values, keys, headers, timestamps, offsets, partitions.
// Compression: none, gzip (built in) and snappy (kafkajs-snappy, pure JS);
// lz4 and zstd need native codec packages and are not covered.
//
// kafkajs logs are kept in memory and printed, with the broker's log tail,
// only when a test fails (BECK_KAFKAJS_LOG=1 prints them as they come).

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import SnappyCodec from 'kafkajs-snappy'

const {
  Kafka,
  logLevel,
  CompressionTypes,
  CompressionCodecs,
  ConfigResourceTypes,
  Partitioners,
  AssignerProtocol,
} = kafkajs

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(HERE, '..', '..', '..')

// ---------------------------------------------------------------- broker

class Broker {
  constructor() {
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'beck-kafkajs-'))
    this.logPath = path.join(this.tmp, 'broker.log')
    this.proc = null
    this.port = 0
  }

  async start() {
    const bin = process.env.BECK_BIN || path.join(REPO, 'build', 'bin', 'beck')
    try {
      fs.accessSync(bin, fs.constants.X_OK)
    } catch {
      throw new Error(`beck binary not found at ${bin} (build first or set BECK_BIN)`)
    }
    const conf = path.join(this.tmp, 'broker.conf')
    fs.writeFileSync(conf, 'group.initial.rebalance.delay.ms=0\n')
    const log = fs.openSync(this.logPath, 'a')
    const args = ['broker', '--data-dir', path.join(this.tmp, 'data'), '--listen', '127.0.0.1:0', '--config', conf]
    this.proc = spawn(bin, args, { stdio: ['ignore', 'pipe', log] })
    fs.closeSync(log)
    this.exited = new Promise(resolve => this.proc.once('exit', (code, signal) => resolve({ code, signal })))
    const line = await new Promise((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`broker not ready within 15 s\n${this.logTail()}`)), 15000)
      this.proc.stdout.on('data', chunk => {
        out += chunk
        const nl = out.indexOf('\n')
        if (nl >= 0) {
          clearTimeout(timer)
          resolve(out.slice(0, nl))
        }
      })
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer)
        reject(new Error(`broker exited (${code ?? signal}) before it was ready\n${this.logTail()}`))
      })
    })
    const m = /^beck broker ready: listening on [^ ]*:(\d+) /.exec(line)
    if (!m) throw new Error(`unexpected ready line ${JSON.stringify(line)}\n${this.logTail()}`)
    this.port = Number(m[1])
    return this
  }

  get bootstrap() {
    return `127.0.0.1:${this.port}`
  }

  alive() {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null
  }

  async stop() {
    if (!this.alive()) return this.proc ? { code: this.proc.exitCode, signal: this.proc.signalCode } : null
    this.proc.kill('SIGTERM')
    const timeout = new Promise(resolve => setTimeout(() => resolve(null), 20000).unref())
    const res = await Promise.race([this.exited, timeout])
    if (res === null) {
      this.proc.kill('SIGKILL')
      await this.exited
      throw new Error(`broker did not exit within 20 s of SIGTERM\n${this.logTail()}`)
    }
    return res
  }

  logTail(n = 40) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-n).join('\n')
    } catch {
      return ''
    }
  }

  cleanup() {
    if (this.alive()) this.proc.kill('SIGKILL')
    fs.rmSync(this.tmp, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------- helpers

const clientLog = []
const logCreator = () => ({ namespace, level, label, log }) => {
  const line = `${label} [${namespace}] ${log.message} ${JSON.stringify(
    Object.fromEntries(Object.entries(log).filter(([k]) => !['message', 'timestamp', 'logger'].includes(k)))
  )}`
  if (process.env.BECK_KAFKAJS_LOG) console.error(line)
  clientLog.push(line)
  if (clientLog.length > 300) clientLog.shift()
}

let broker = null
let kafka = null
let admin = null
let nodeId = null
let seq = 0
const toClose = []

const unique = prefix => `${prefix}-${process.pid}-${++seq}`
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function waitFor(cond, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

// A test that prints the client log and the broker log tail when it fails.
function check(name, timeout, fn) {
  test(name, { timeout }, async t => {
    clientLog.length = 0
    try {
      await fn(t)
    } catch (err) {
      console.error(`---- kafkajs log (${name}):\n${clientLog.join('\n')}\n---- broker log tail:\n${broker.logTail()}`)
      throw err
    } finally {
      // close whatever the test opened, even when it failed
      while (toClose.length) {
        const c = toClose.pop()
        await c.disconnect().catch(() => {})
      }
    }
  })
}

function producer(opts = {}) {
  const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...opts })
  toClose.push(p)
  return p
}

const CONSUMER_DEFAULTS = {
  sessionTimeout: 10000,
  rebalanceTimeout: 10000,
  heartbeatInterval: 300,
  maxWaitTimeInMs: 250,
  retry: { initialRetryTime: 100, retries: 8 },
}

function consumer(groupId, opts = {}) {
  const c = kafka.consumer({ groupId, ...CONSUMER_DEFAULTS, ...opts })
  toClose.push(c)
  return c
}

async function disconnect(client) {
  await client.disconnect()
  const i = toClose.indexOf(client)
  if (i >= 0) toClose.splice(i, 1)
}

async function createTopic(topic, numPartitions, configEntries = []) {
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions, replicationFactor: 1, configEntries }],
  })
  assert.equal(created, true, `createTopics(${topic})`)
}

// What a consumer saw, in a form that compares exactly: Buffers as strings
// (binary ones as hex), timestamps and offsets as kafkajs gives them.
const show = b => (b === null ? null : b.toString('utf8'))
function headersOf(h) {
  const out = {}
  for (const [k, v] of Object.entries(h || {})) {
    out[k] = Array.isArray(v) ? v.map(x => x.toString('hex')) : v.toString('hex')
  }
  return out
}
function record(partition, message) {
  return {
    partition,
    offset: message.offset,
    key: show(message.key),
    value: show(message.value),
    headers: headersOf(message.headers),
    timestamp: message.timestamp,
  }
}
const hex = v => Buffer.from(v).toString('hex')
const byPartitionOffset = (a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset)

// Consumes until `count` messages arrived, then waits `settleMs` more to catch
// duplicates or extra messages; returns what arrived in arrival order.
async function consumeExactly(c, topic, count, { fromBeginning = true, settleMs = 600, timeoutMs = 20000 } = {}) {
  const got = []
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning })
  await c.run({
    eachMessage: async ({ topic: t, partition, message }) => {
      assert.equal(t, topic)
      got.push({ ...record(partition, message), batchContext: message.batchContext })
    },
  })
  await waitFor(() => got.length >= count, `${count} messages from ${topic} (got ${got.length})`, timeoutMs)
  await sleep(settleMs)
  return got
}
const strip = recs => recs.map(({ batchContext, ...r }) => r)

// ---------------------------------------------------------------- lifecycle

before(async () => {
  broker = await new Broker().start()
  kafka = new Kafka({
    clientId: 'beck-kafkajs',
    brokers: [broker.bootstrap],
    logLevel: logLevel.INFO,
    logCreator,
    connectionTimeout: 3000,
    requestTimeout: 15000,
    retry: { initialRetryTime: 100, retries: 8 },
  })
  admin = kafka.admin()
  await admin.connect()
  const cluster = await admin.describeCluster()
  assert.equal(cluster.brokers.length, 1)
  nodeId = cluster.brokers[0].nodeId
  assert.deepEqual(cluster.brokers, [{ nodeId, host: '127.0.0.1', port: broker.port }])
  assert.equal(cluster.controller, nodeId, 'the controller is the only broker')
  assert.equal(typeof cluster.clusterId, 'string')
})

after(async () => {
  if (admin) await admin.disconnect().catch(() => {})
  if (!broker) return
  try {
    const wasAlive = broker.alive()
    const res = await broker.stop()
    assert.ok(wasAlive, `the broker died during the tests\n${broker.logTail()}`)
    assert.deepEqual(res, { code: 0, signal: null }, `broker exit after SIGTERM\n${broker.logTail()}`)
  } finally {
    broker.cleanup()
  }
})

// ---------------------------------------------------------------- tests

check('admin: createTopics, fetchTopicMetadata, describeConfigs, createPartitions, deleteTopics', 30000, async () => {
  const t = unique('admin')
  await createTopic(t, 3, [
    { name: 'retention.ms', value: '3600000' },
    { name: 'cleanup.policy', value: 'compact' },
  ])
  // a second create of the same topic: kafkajs answers false (TOPIC_ALREADY_EXISTS)
  assert.equal(await admin.createTopics({ topics: [{ topic: t, numPartitions: 3 }] }), false)
  assert.ok((await admin.listTopics()).includes(t))

  const partitions = n =>
    Array.from({ length: n }, (_, i) => ({
      partitionErrorCode: 0,
      partitionId: i,
      leader: nodeId,
      replicas: [nodeId],
      isr: [nodeId],
      offlineReplicas: [],
    }))
  const metadata = async () => {
    const md = await admin.fetchTopicMetadata({ topics: [t] })
    return md.topics.map(({ name, partitions: ps }) => ({
      name,
      partitions: [...ps].sort((a, b) => a.partitionId - b.partitionId),
    }))
  }
  assert.deepEqual(await metadata(), [{ name: t, partitions: partitions(3) }])

  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: t,
        configNames: ['retention.ms', 'cleanup.policy', 'max.message.bytes'],
      },
    ],
  })
  assert.equal(described.resources.length, 1)
  const res = described.resources[0]
  assert.equal(res.errorCode, 0)
  assert.equal(res.resourceName, t)
  assert.equal(res.resourceType, ConfigResourceTypes.TOPIC)
  const entries = Object.fromEntries(res.configEntries.map(e => [e.configName, e]))
  assert.deepEqual(Object.keys(entries).sort(), ['cleanup.policy', 'max.message.bytes', 'retention.ms'])
  assert.equal(entries['retention.ms'].configValue, '3600000')
  assert.equal(entries['retention.ms'].isDefault, false)
  assert.equal(entries['cleanup.policy'].configValue, 'compact')
  assert.equal(entries['cleanup.policy'].isDefault, false)
  assert.equal(entries['max.message.bytes'].isDefault, true)
  assert.match(entries['max.message.bytes'].configValue, /^[0-9]+$/)

  // all configs of the topic (configNames omitted): ours are among them
  const all = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: t }],
  })
  const allEntries = Object.fromEntries(all.resources[0].configEntries.map(e => [e.configName, e.configValue]))
  assert.equal(allEntries['retention.ms'], '3600000')
  assert.equal(allEntries['cleanup.policy'], 'compact')

  await admin.createPartitions({ topicPartitions: [{ topic: t, count: 5 }] }) // resolves to undefined in 2.2.4
  assert.deepEqual(await metadata(), [{ name: t, partitions: partitions(5) }])
  assert.deepEqual(
    (await admin.fetchTopicOffsets(t)).sort((a, b) => a.partition - b.partition),
    [0, 1, 2, 3, 4].map(partition => ({ partition, offset: '0', high: '0', low: '0' }))
  )
  // shrinking is refused (INVALID_PARTITIONS) and changes nothing
  await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: t, count: 2 }] }), err => {
    assert.equal(err.type, 'INVALID_PARTITIONS', String(err))
    return true
  })
  assert.deepEqual(await metadata(), [{ name: t, partitions: partitions(5) }])

  // a new partition takes records
  const p = producer()
  await p.connect()
  const sent = await p.send({ topic: t, acks: -1, messages: [{ partition: 4, value: 'in-4' }] })
  assert.deepEqual(
    sent.map(({ topicName, partition, errorCode, baseOffset }) => ({ topicName, partition, errorCode, baseOffset })),
    [{ topicName: t, partition: 4, errorCode: 0, baseOffset: '0' }]
  )
  await disconnect(p)

  await admin.deleteTopics({ topics: [t], timeout: 10000 })
  assert.ok(!(await admin.listTopics()).includes(t), 'topic gone after deleteTopics')
})

check('producer (keys, headers, timestamps, acks=-1) and a consumer reading it back exactly', 40000, async () => {
  const t = unique('pc')
  await createTopic(t, 3)
  const base = 1700000000000
  const explicit = Array.from({ length: 12 }, (_, i) => {
    const m = {
      partition: i % 3,
      key: i % 4 === 3 ? null : `key-${i}`,
      value: i === 7 ? null : `value-${i}-${'x'.repeat(i * 10)}`,
      timestamp: String(base + i * 1000),
      headers: { idx: String(i), bin: Buffer.from([0, i, 255]) },
    }
    if (i === 0) m.headers.multi = ['first', 'second'] // one key, two headers
    if (i === 1) delete m.headers // no headers at all
    return m
  })
  // keyed messages without a partition: kafkajs' default (murmur2) partitioner places them
  const keyed = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((key, i) => ({
    key,
    value: `keyed-${key}`,
    timestamp: String(base + 100000 + i),
    headers: { k: key },
  }))
  const partitionMetadata = [0, 1, 2].map(partitionId => ({ partitionId, leader: nodeId }))
  const partitioner = Partitioners.DefaultPartitioner()
  for (const m of keyed) m.expectedPartition = partitioner({ topic: t, partitionMetadata, message: m })

  const p = producer()
  await p.connect()
  const r1 = await p.send({ topic: t, acks: -1, messages: explicit })
  const r2 = await p.send({
    topic: t,
    acks: -1,
    messages: keyed.map(({ expectedPartition, ...m }) => m),
  })
  await disconnect(p)

  // expected log: per partition, in send order, offsets from 0
  const expected = []
  const next = [0, 0, 0]
  for (const m of explicit) {
    expected.push({
      partition: m.partition,
      offset: String(next[m.partition]++),
      key: m.key,
      value: m.value,
      headers: m.headers
        ? Object.fromEntries(
            Object.entries(m.headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(hex) : hex(v)])
          )
        : {},
      timestamp: m.timestamp,
    })
  }
  const firstOfSecond = [...next]
  for (const m of keyed) {
    expected.push({
      partition: m.expectedPartition,
      offset: String(next[m.expectedPartition]++),
      key: m.key,
      value: m.value,
      headers: { k: hex(m.key) },
      timestamp: m.timestamp,
    })
  }
  expected.sort(byPartitionOffset)

  const meta = rs =>
    rs
      .map(({ topicName, partition, errorCode, baseOffset }) => ({ topicName, partition, errorCode, baseOffset }))
      .sort((a, b) => a.partition - b.partition)
  assert.deepEqual(
    meta(r1),
    [0, 1, 2].map(partition => ({ topicName: t, partition, errorCode: 0, baseOffset: '0' }))
  )
  assert.deepEqual(
    meta(r2),
    [0, 1, 2]
      .filter(p => keyed.some(m => m.expectedPartition === p))
      .map(partition => ({ topicName: t, partition, errorCode: 0, baseOffset: String(firstOfSecond[partition]) }))
  )

  assert.deepEqual(
    (await admin.fetchTopicOffsets(t)).sort((a, b) => a.partition - b.partition),
    [0, 1, 2].map(partition => ({ partition, offset: String(next[partition]), high: String(next[partition]), low: '0' }))
  )
  // ListOffsets by timestamp: the first offset whose timestamp is >= the target
  assert.deepEqual(
    (await admin.fetchTopicOffsetsByTimestamp(t, base + 4000)).sort((a, b) => a.partition - b.partition),
    [
      { partition: 0, offset: '2' }, // i=6 (ts base+6000) is partition 0's third record
      { partition: 1, offset: '1' }, // i=4: a timestamp equal to the target counts
      { partition: 2, offset: '1' }, // i=5
    ]
  )

  const c = consumer(unique('pc-group'))
  const got = await consumeExactly(c, t, expected.length)
  await disconnect(c)
  assert.deepEqual(strip(got).sort(byPartitionOffset), expected)
  // within a partition the consumer sees offsets in order
  for (const part of [0, 1, 2]) {
    const offs = got.filter(r => r.partition === part).map(r => Number(r.offset))
    assert.deepEqual(offs, [...offs].sort((a, b) => a - b))
  }
})

// kafkajs 2.2.4 has gzip built in; snappy comes from kafkajs-snappy (pure JS,
// raw snappy blocks out, raw or xerial in); lz4 and zstd need native codec
// packages and are left out. Each codec is wrapped to count its calls, which
// proves the batches really went out and came back compressed.
check('compression: none, gzip and snappy (kafkajs-snappy) round-trip exactly', 60000, async () => {
  const codecs = [
    ['none', CompressionTypes.None, null],
    ['gzip', CompressionTypes.GZIP, CompressionCodecs[CompressionTypes.GZIP]],
    ['snappy', CompressionTypes.Snappy, SnappyCodec],
  ]
  const saved = Object.fromEntries(codecs.map(([, type]) => [type, CompressionCodecs[type]]))
  const calls = {}
  for (const [name, type, codec] of codecs) {
    if (!codec) continue
    CompressionCodecs[type] = () => {
      const impl = codec()
      return {
        compress: async enc => {
          calls[name].compress++
          return impl.compress(enc)
        },
        decompress: async buf => {
          calls[name].decompress++
          return impl.decompress(buf)
        },
      }
    }
  }
  try {
    for (const [name, type] of codecs) {
      for (const n of ['gzip', 'snappy']) calls[n] = { compress: 0, decompress: 0 }
      const t = unique(`codec-${name}`)
      await createTopic(t, 2)
      const p = producer()
      await p.connect()
      const expected = []
      const next = [0, 0]
      for (let batch = 0; batch < 4; batch++) {
        const messages = Array.from({ length: 50 }, (_, i) => {
          const n = batch * 50 + i
          return {
            partition: n % 2,
            key: `k${n}`,
            value: `${name} record ${n} `.repeat(1 + (n % 20)),
            headers: { n: String(n) },
            timestamp: String(1600000000000 + n),
          }
        })
        if (batch === 3) messages.push({ partition: 0, key: 'big', value: 'z'.repeat(200000), timestamp: '1600000001000' })
        const res = await p.send({ topic: t, acks: -1, compression: type, messages })
        assert.ok(res.every(r => r.errorCode === 0))
        for (const m of messages) {
          expected.push({
            partition: m.partition,
            offset: String(next[m.partition]++),
            key: m.key,
            value: m.value,
            headers: m.headers ? { n: hex(m.headers.n) } : {},
            timestamp: m.timestamp,
          })
        }
      }
      await disconnect(p)
      const c = consumer(unique(`codec-${name}-group`))
      const got = await consumeExactly(c, t, expected.length)
      await disconnect(c)
      assert.deepEqual(strip(got).sort(byPartitionOffset), expected.sort(byPartitionOffset))
      // 4 sends x 2 partitions = 8 batches out; at least one fetch per partition back
      for (const n of ['gzip', 'snappy']) {
        if (n === name) {
          assert.equal(calls[n].compress, 8, `${n} batches sent`)
          assert.ok(calls[n].decompress >= 2, `${n} batches fetched: ${calls[n].decompress}`)
        } else {
          assert.deepEqual(calls[n], { compress: 0, decompress: 0 }, `no ${n} while testing ${name}`)
        }
      }
    }
  } finally {
    Object.assign(CompressionCodecs, saved)
  }
})

check('LogAppendTime topic, deleteTopicRecords, alterConfigs', 40000, async () => {
  // LogAppendTime: the broker's append time replaces the producer's timestamps
  const lat = unique('lat')
  await createTopic(lat, 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }])
  const p = producer()
  await p.connect()
  const before = Date.now()
  const [sent] = await p.send({
    topic: lat,
    acks: -1,
    messages: ['a', 'b', 'c'].map((value, i) => ({ value, timestamp: String(1000 * (i + 1)) })),
  })
  const afterSend = Date.now()
  assert.equal(sent.errorCode, 0)
  const appendTime = Number(sent.logAppendTime)
  assert.ok(appendTime >= before && appendTime <= afterSend, `logAppendTime ${appendTime} in [${before}, ${afterSend}]`)
  const c1 = consumer(unique('lat-g'))
  const gotLat = await consumeExactly(c1, lat, 3)
  await disconnect(c1)
  assert.deepEqual(
    gotLat.map(r => [r.offset, r.value, r.timestamp, r.batchContext.timestampType]),
    ['a', 'b', 'c'].map((v, i) => [String(i), v, String(appendTime), 1])
  )

  // deleteTopicRecords moves the log start; a consumer from the beginning starts there
  const dr = unique('delrec')
  await createTopic(dr, 1)
  await p.send({ topic: dr, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `d${i}` })) })
  // kafkajs 2.2.4 looks the leader up in the admin's metadata cache before it loads the topic
  // (admin/index.js deleteTopicRecords), so the admin must have seen the topic first
  assert.deepEqual(await admin.fetchTopicOffsets(dr), [{ partition: 0, offset: '10', high: '10', low: '0' }])
  await admin.deleteTopicRecords({ topic: dr, partitions: [{ partition: 0, offset: '4' }] })
  assert.deepEqual(await admin.fetchTopicOffsets(dr), [{ partition: 0, offset: '10', high: '10', low: '4' }])
  const c2 = consumer(unique('delrec-g'))
  const gotDr = await consumeExactly(c2, dr, 6)
  await disconnect(c2)
  assert.deepEqual(
    gotDr.map(r => [r.offset, r.value]),
    [4, 5, 6, 7, 8, 9].map(i => [String(i), `d${i}`])
  )
  await disconnect(p)

  // alterConfigs, seen by describeConfigs
  const res = await admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: dr, configEntries: [{ name: 'retention.ms', value: '1234567' }] }],
  })
  assert.deepEqual(res.resources.map(({ errorCode, resourceName }) => [errorCode, resourceName]), [[0, dr]])
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: ConfigResourceTypes.TOPIC, name: dr, configNames: ['retention.ms'] },
      { type: ConfigResourceTypes.TOPIC, name: lat, configNames: ['message.timestamp.type'] },
    ],
  })
  assert.deepEqual(
    described.resources
      .map(r => [r.resourceName, r.configEntries.map(e => [e.configName, e.configValue, e.isDefault])])
      .sort(),
    [
      [dr, [['retention.ms', '1234567', false]]],
      [lat, [['message.timestamp.type', 'LogAppendTime', false]]],
    ].sort()
  )
})

check('consumer group: two kafkajs consumers split 4 partitions, no gap, no overlap', 60000, async () => {
  const t = unique('group')
  const groupId = unique('group-g')
  await createTopic(t, 4)

  const members = ['c1', 'c2'].map(name => ({ name, c: consumer(groupId), got: [], join: null, joins: 0 }))
  const start = async m => {
    m.c.on(m.c.events.GROUP_JOIN, e => {
      m.join = e.payload
      m.joins++
    })
    await m.c.connect()
    await m.c.subscribe({ topics: [t], fromBeginning: true })
    await m.c.run({
      eachMessage: async ({ partition, message }) => {
        m.got.push(record(partition, message))
      },
    })
  }
  const assigned = m => (m.join && m.join.memberAssignment[t] ? [...m.join.memberAssignment[t]].sort() : [])

  await start(members[0])
  await waitFor(() => assigned(members[0]).length === 4, 'c1 alone owning all 4 partitions')
  await start(members[1])
  const split = () => {
    const [a, b] = members.map(assigned)
    return (
      members.every(m => m.join) &&
      members[0].join.groupId === groupId &&
      a.length === 2 &&
      b.length === 2 &&
      [...a, ...b].sort().join() === '0,1,2,3'
    )
  }
  await waitFor(split, 'the group to split the 4 partitions 2 + 2', 30000)
  assert.notEqual(members[0].join.memberId, members[1].join.memberId)
  assert.equal(members[0].join.leaderId, members[1].join.leaderId)
  assert.equal(members[0].join.groupProtocol, 'RoundRobinAssigner')

  // the coordinator's view matches what the members were given
  const { groups } = await admin.describeGroups([groupId])
  assert.equal(groups.length, 1)
  const g = groups[0]
  assert.equal(g.errorCode, 0)
  assert.equal(g.groupId, groupId)
  assert.equal(g.state, 'Stable')
  assert.equal(g.protocolType, 'consumer')
  assert.equal(g.protocol, 'RoundRobinAssigner')
  const described = Object.fromEntries(
    g.members.map(mem => {
      const a = AssignerProtocol.MemberAssignment.decode(mem.memberAssignment)
      const s = AssignerProtocol.MemberMetadata.decode(mem.memberMetadata)
      assert.equal(mem.clientId, 'beck-kafkajs')
      assert.deepEqual(s.topics, [t])
      return [mem.memberId, [...a.assignment[t]].sort()]
    })
  )
  assert.deepEqual(
    described,
    Object.fromEntries(members.map(m => [m.join.memberId, assigned(m)]))
  )
  const listed = (await admin.listGroups()).groups.filter(x => x.groupId === groupId)
  assert.deepEqual(listed, [{ groupId, protocolType: 'consumer' }])

  // 10 records per partition, produced once the group is stable
  const p = producer()
  await p.connect()
  const perPartition = 10
  const messages = []
  for (let i = 0; i < perPartition; i++) {
    for (let part = 0; part < 4; part++) messages.push({ partition: part, key: `p${part}`, value: `p${part}-r${i}` })
  }
  await p.send({ topic: t, acks: -1, messages })
  await waitFor(
    () => members[0].got.length + members[1].got.length >= 4 * perPartition,
    'all 40 records across the two members'
  )
  await sleep(600)
  for (const m of members) {
    const mine = assigned(m)
    assert.ok(
      m.got.every(r => mine.includes(r.partition)),
      `${m.name} only sees its partitions ${mine}: ${JSON.stringify(m.got.map(r => r.partition))}`
    )
  }
  const seen = [...members[0].got, ...members[1].got].sort(byPartitionOffset)
  const expectedSeen = []
  for (let part = 0; part < 4; part++) {
    for (let i = 0; i < perPartition; i++) {
      expectedSeen.push({ partition: part, offset: String(i), value: `p${part}-r${i}`, key: `p${part}` })
    }
  }
  assert.deepEqual(seen.map(({ partition, offset, value, key }) => ({ partition, offset, value, key })), expectedSeen)

  // c2 leaves: c1 takes all 4 and resumes from c2's committed offsets (nothing twice)
  const c1JoinsBefore = members[0].joins
  await disconnect(members[1].c)
  await waitFor(
    () => members[0].joins > c1JoinsBefore && assigned(members[0]).length === 4,
    'c1 owning all 4 partitions after c2 left',
    30000
  )
  const before = members[0].got.length
  await p.send({
    topic: t,
    acks: -1,
    messages: [0, 1, 2, 3].map(part => ({ partition: part, key: `p${part}`, value: `p${part}-after` })),
  })
  await waitFor(() => members[0].got.length >= before + 4, 'the 4 records produced after the rebalance')
  await sleep(600)
  assert.deepEqual(
    members[0].got
      .slice(before)
      .map(({ partition, offset, value }) => ({ partition, offset, value }))
      .sort(byPartitionOffset),
    [0, 1, 2, 3].map(part => ({ partition: part, offset: String(perPartition), value: `p${part}-after` }))
  )
  await disconnect(p)
  await disconnect(members[0].c)

  const empty = (await admin.describeGroups([groupId])).groups[0]
  assert.equal(empty.state, 'Empty')
  assert.deepEqual(empty.members, [])
  const offsets = await admin.fetchOffsets({ groupId, topics: [t] })
  assert.deepEqual(
    offsets.map(({ topic, partitions }) => ({
      topic,
      partitions: [...partitions].sort((a, b) => a.partition - b.partition),
    })),
    [
      {
        topic: t,
        partitions: [0, 1, 2, 3].map(partition => ({
          partition,
          offset: String(perPartition + 1),
          metadata: null,
        })),
      },
    ]
  )
})

check('commit, then a new consumer of the group resumes right after the committed offset', 40000, async () => {
  const t = unique('commit')
  const groupId = unique('commit-g')
  await createTopic(t, 1)
  const p = producer()
  await p.connect()
  await p.send({
    topic: t,
    acks: -1,
    messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
  })

  // A reads everything without auto commit, commits "next is 6" by hand
  const a = consumer(groupId)
  const gotA = []
  await a.connect()
  await a.subscribe({ topics: [t], fromBeginning: true })
  await a.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      gotA.push(record(partition, message))
    },
  })
  await waitFor(() => gotA.length >= 10, 'A reading 10 records')
  assert.deepEqual(
    gotA.map(r => [r.offset, r.value]),
    Array.from({ length: 10 }, (_, i) => [String(i), `v${i}`])
  )
  await a.commitOffsets([{ topic: t, partition: 0, offset: '6' }])
  await disconnect(a)
  assert.deepEqual(await admin.fetchOffsets({ groupId, topics: [t] }), [
    { topic: t, partitions: [{ partition: 0, offset: '6', metadata: null }] },
  ])

  // B (auto commit) starts at 6: exactly offsets 6..9
  const b = consumer(groupId)
  const gotB = await consumeExactly(b, t, 4)
  await disconnect(b)
  assert.deepEqual(
    strip(gotB).map(r => [r.partition, r.offset, r.key, r.value]),
    [6, 7, 8, 9].map(i => [0, String(i), `k${i}`, `v${i}`])
  )
  // B's auto commit on disconnect: next is 10
  assert.deepEqual(await admin.fetchOffsets({ groupId, topics: [t] }), [
    { topic: t, partitions: [{ partition: 0, offset: '10', metadata: null }] },
  ])

  // C starts at 10 and sees only the new records
  await p.send({
    topic: t,
    acks: -1,
    messages: [10, 11, 12].map(i => ({ key: `k${i}`, value: `v${i}` })),
  })
  const c = consumer(groupId)
  const gotC = await consumeExactly(c, t, 3)
  await disconnect(c)
  assert.deepEqual(
    strip(gotC).map(r => [r.offset, r.value]),
    [10, 11, 12].map(i => [String(i), `v${i}`])
  )
  await disconnect(p)
})

check('idempotent producer: producer ids, sequences and exact data', 40000, async () => {
  const t = unique('idem')
  await createTopic(t, 2)
  const p = producer({ idempotent: true, maxInFlightRequests: 1 })
  await p.connect()
  const sends = [5, 3, 4]
  let n = 0
  const results = []
  for (const count of sends) {
    const messages = Array.from({ length: count }, () => {
      const i = n++
      return { partition: i % 2, key: `k${i}`, value: `idem-${i}`, headers: { i: String(i) } }
    })
    results.push(await p.send({ topic: t, acks: -1, messages }))
  }
  // a plain producer for comparison: no producer id in its batches
  const plain = producer()
  await plain.connect()
  await plain.send({ topic: t, acks: -1, messages: [{ partition: 0, value: 'plain' }] })
  // a second idempotent producer gets another producer id
  const p2 = producer({ idempotent: true, maxInFlightRequests: 1 })
  await p2.connect()
  await p2.send({ topic: t, acks: -1, messages: [{ partition: 1, value: 'second-producer' }] })
  await Promise.all([disconnect(p), disconnect(plain), disconnect(p2)])

  // expected layout: per partition, records in send order; one batch per partition per send
  const log = [[], []] // per partition: { i, batch first offset, batch first sequence }
  const expectedBases = []
  n = 0
  for (const count of sends) {
    const first = [null, null]
    for (let k = 0; k < count; k++) {
      const i = n++
      const part = i % 2
      if (first[part] === null) first[part] = log[part].length
      log[part].push({ i, batchFirst: first[part] })
    }
    expectedBases.push([0, 1].filter(part => first[part] !== null).map(part => [part, 0, String(first[part])]))
  }
  // base offsets continue per partition
  assert.deepEqual(
    results.map(rs => rs.map(r => [r.partition, r.errorCode, r.baseOffset]).sort((a, b) => a[0] - b[0])),
    expectedBases
  )

  const c = consumer(unique('idem-g'))
  const got = await consumeExactly(c, t, n + 2)
  await disconnect(c)
  const idem = got.filter(r => r.value.startsWith('idem-')).sort(byPartitionOffset)
  assert.deepEqual(
    idem.map(r => [r.partition, r.offset, r.key, r.value, r.headers.i]),
    [0, 1].flatMap(part =>
      log[part].map(({ i }, off) => [part, String(off), `k${i}`, `idem-${i}`, hex(String(i))])
    )
  )
  const pid = idem[0].batchContext.producerId
  assert.ok(Number(pid) >= 0, `producer id ${pid}`)
  for (const r of idem) {
    assert.equal(r.batchContext.producerId, pid)
    assert.equal(r.batchContext.producerEpoch, 0)
  }
  // each batch's first sequence is the number of records this producer wrote to the partition before it
  // (offsets and sequences coincide here: only this producer wrote to the topic so far)
  for (const part of [0, 1]) {
    assert.deepEqual(
      idem
        .filter(r => r.partition === part)
        .map(r => [r.batchContext.firstOffset, r.batchContext.firstSequence]),
      log[part].map(({ batchFirst }) => [String(batchFirst), batchFirst])
    )
  }

  const plainRec = got.filter(r => r.value === 'plain')
  assert.deepEqual(plainRec.map(r => [r.partition, r.offset, r.batchContext.producerId]), [
    [0, String(log[0].length), '-1'],
  ])
  const second = got.filter(r => r.value === 'second-producer')
  assert.equal(second.length, 1)
  assert.deepEqual([second[0].partition, second[0].offset], [1, String(log[1].length)])
  assert.ok(Number(second[0].batchContext.producerId) >= 0)
  assert.notEqual(second[0].batchContext.producerId, pid)
  assert.equal(second[0].batchContext.firstSequence, 0)
})

check('admin: fetchOffsets, resetOffsets, setOffsets, listGroups, describeGroups', 60000, async () => {
  const t = unique('offsets')
  const groupId = unique('offsets-g')
  await createTopic(t, 2)
  const p = producer()
  await p.connect()
  await p.send({
    topic: t,
    acks: -1,
    messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `r${i}` })),
  })
  const fetchOffsets = async (opts = {}) => {
    const res = await admin.fetchOffsets({ groupId, topics: [t], ...opts })
    assert.equal(res.length, 1)
    assert.equal(res[0].topic, t)
    return [...res[0].partitions]
      .sort((a, b) => a.partition - b.partition)
      .map(({ partition, offset, metadata }) => {
        assert.equal(metadata, null)
        return [partition, offset]
      })
  }
  const readAll = async (count, extra = {}) => {
    const c = consumer(groupId)
    const got = await consumeExactly(c, t, count, extra)
    await disconnect(c)
    return strip(got)
      .sort(byPartitionOffset)
      .map(r => [r.partition, r.offset, r.value])
  }
  const rec = i => [i % 2, String(Math.floor(i / 2)), `r${i}`]

  // nothing committed yet: -1 for every partition; the group is unknown
  assert.deepEqual(await fetchOffsets(), [
    [0, '-1'],
    [1, '-1'],
  ])
  assert.deepEqual((await admin.listGroups()).groups.filter(g => g.groupId === groupId), [])

  assert.deepEqual(await readAll(10), [0, 2, 4, 6, 8, 1, 3, 5, 7, 9].map(rec))
  assert.deepEqual(await fetchOffsets(), [
    [0, '5'],
    [1, '5'],
  ])
  assert.deepEqual((await admin.listGroups()).groups.filter(g => g.groupId === groupId), [
    { groupId, protocolType: 'consumer' },
  ])
  const { groups } = await admin.describeGroups([groupId])
  assert.deepEqual(
    groups.map(({ errorCode, groupId: id, state, protocolType, members }) => ({
      errorCode,
      groupId: id,
      state,
      protocolType,
      members,
    })),
    [{ errorCode: 0, groupId, state: 'Empty', protocolType: 'consumer', members: [] }]
  )

  // resetOffsets(earliest) commits -2 (kafkajs' "earliest"); the group reads everything again
  await admin.resetOffsets({ groupId, topic: t, earliest: true })
  assert.deepEqual(await fetchOffsets(), [
    [0, '-2'],
    [1, '-2'],
  ])
  assert.deepEqual(await readAll(10), [0, 2, 4, 6, 8, 1, 3, 5, 7, 9].map(rec))
  assert.deepEqual(await fetchOffsets(), [
    [0, '5'],
    [1, '5'],
  ])

  // setOffsets to exact positions; the group resumes there
  await admin.setOffsets({
    groupId,
    topic: t,
    partitions: [
      { partition: 0, offset: '3' },
      { partition: 1, offset: '1' },
    ],
  })
  assert.deepEqual(await fetchOffsets(), [
    [0, '3'],
    [1, '1'],
  ])
  assert.deepEqual(await readAll(6), [6, 8, 3, 5, 7, 9].map(rec).sort((a, b) => a[0] - b[0]))

  // resetOffsets(latest) commits -1; resolveOffsets turns -1 into the high watermark
  await admin.resetOffsets({ groupId, topic: t })
  assert.deepEqual(await fetchOffsets(), [
    [0, '-1'],
    [1, '-1'],
  ])
  assert.deepEqual(await fetchOffsets({ resolveOffsets: true }), [
    [0, '5'],
    [1, '5'],
  ])
  assert.deepEqual(await fetchOffsets(), [
    [0, '5'],
    [1, '5'],
  ])
  await p.send({ topic: t, acks: -1, messages: [{ partition: 1, value: 'r11' }] })
  assert.deepEqual(await readAll(1), [[1, '5', 'r11']])

  // a running group refuses resetOffsets
  const running = consumer(groupId)
  await running.connect()
  await running.subscribe({ topics: [t] })
  let joined = false
  running.on(running.events.GROUP_JOIN, () => {
    joined = true
  })
  await running.run({ eachMessage: async () => {} })
  await waitFor(() => joined, 'the running consumer to join')
  await assert.rejects(admin.resetOffsets({ groupId, topic: t, earliest: true }), /must have no running instances/)
  const live = (await admin.describeGroups([groupId])).groups[0]
  assert.equal(live.state, 'Stable')
  assert.equal(live.members.length, 1)
  await disconnect(running)
  await disconnect(p)
})
