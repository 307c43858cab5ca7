// The @kubernetes/client-node informer, used as its example shows (examples/typescript/informer/
// informer.ts: makeInformer(kc, path, listFn), the 'add'/'update'/'delete'/'error' callbacks, and
// on 'error' the documented restart, `setTimeout(() => informer.start(), 5000)`), speaking JSON lines
// to the Python adapter (sut/clients/client_node.py):
//
//   node informer.mjs MODULES URL NAMESPACE LABEL_SELECTOR DELAY_SCALE
//     MODULES: the node_modules folder holding @kubernetes/client-node; NAMESPACE "" = all namespaces;
//     DELAY_SCALE: multiplies the informer's reconnect backoff and the user's 5 s restart (1 = as shipped)
//   stdin, one JSON object a line:  {"op": "view"}  or  {"op": "stop"}
//   stdout, one JSON object a line: {"ready": true} once started, then one answer per "view":
//     {"rv": latestResourceVersion() or null, "objects": [{namespace, name, labels, value, rv}],
//      "synced": a list returned once}
//
// The process ends on "stop" and when stdin closes (the adapter died), so it never outlives it.
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

const [modules, url, namespace, labelSelector, scaleText] = process.argv.slice(2);
const scale = Number(scaleText);
const k8s = await import(pathToFileURL(join(modules, '@kubernetes', 'client-node', 'dist', 'index.js')).href);

const kc = new k8s.KubeConfig();
kc.loadFromOptions({
    clusters: [{ name: 'adversary', server: url, skipTLSVerify: true }],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'adversary', cluster: 'adversary', user: 'anonymous' }],
    currentContext: 'adversary',
});
const api = kc.makeApiClient(k8s.CoreV1Api);
const selector = labelSelector || undefined;
let synced = false; // client-node has no has-synced signal: the user's listFn knows when a list returned
const list = namespace
    ? () => api.listNamespacedConfigMap({ namespace, labelSelector: selector })
    : () => api.listConfigMapForAllNamespaces({ labelSelector: selector });
// the informer applies the list in the microtask that follows, before any view request is read
const listFn = async () => { const listed = await list(); synced = true; return listed; };
const path = namespace ? `/api/v1/namespaces/${namespace}/configmaps` : '/api/v1/configmaps';
const informer = k8s.makeInformer(kc, path, listFn, selector);
if (scale !== 1) {
    // the informer's reconnect backoff (1 s doubling to 30 s) goes through its delayFn
    informer.delayFn = (ms) => sleep(ms * scale);
}

let stopped = false;
informer.on('error', () => {
    // the documented restart: "Restart informer after 5sec"
    setTimeout(() => { if (!stopped) informer.start(); }, 5000 * scale);
});

function view() {
    const rv = informer.latestResourceVersion() || null;
    const objects = informer.list().map((cm) => ({
        namespace: cm.metadata.namespace || '',
        name: cm.metadata.name,
        labels: cm.metadata.labels || {},
        value: (cm.data || {}).value || '',
        rv: Number(cm.metadata.resourceVersion),
    }));
    return { rv, objects, synced };
}

function stop() {
    stopped = true;
    informer.stop();
    process.exit(0);
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
    const { op } = JSON.parse(line);
    if (op === 'view') process.stdout.write(JSON.stringify(view()) + '\n');
    else if (op === 'stop') stop();
});
input.on('close', stop);
informer.start();
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
