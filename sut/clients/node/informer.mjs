// The @kubernetes/client-node informer, used as its example shows (examples/typescript/informer/
// informer.ts: makeInformer(kc, path, listFn), the 'add'/'update'/'delete'/'error' callbacks, and
// on 'error' the documented restart, `setTimeout(() => informer.start(), 5000)`), speaking JSON lines
// to the Python adapter (sut/clients/client_node.py):
//
//   node informer.mjs MODULES     (MODULES: the node_modules folder holding @kubernetes/client-node)
//   stdout {"ready": true} once the library is loaded (the adapter keeps one such process warm);
//   stdin, one JSON object a line, stdout one answer each:
//     {"op": "start", "url", "namespace" ("" = all), "labelSelector", "scale"} -> {"started": true}
//       (scale multiplies the informer's reconnect backoff and the user's 5 s restart; 1 = as shipped)
//     {"op": "view"} ->
//     {"rv": latestResourceVersion() or null, "objects": [{namespace, name, labels, value, rv}],
//      "synced": a list returned once}
//     {"op": "stop"} -> the process ends
//
// The process ends on "stop" and when stdin closes (the adapter died), so it never outlives it.
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

const [modules] = process.argv.slice(2);
const k8s = await import(pathToFileURL(join(modules, '@kubernetes', 'client-node', 'dist', 'index.js')).href);

let informer;
let synced = false; // client-node has no has-synced signal: the user's listFn knows when a list returned
let stopped = false;

function start({ url, namespace, labelSelector, scale }) {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
        clusters: [{ name: 'adversary', server: url, skipTLSVerify: true }],
        users: [{ name: 'anonymous' }],
        contexts: [{ name: 'adversary', cluster: 'adversary', user: 'anonymous' }],
        currentContext: 'adversary',
    });
    const api = kc.makeApiClient(k8s.CoreV1Api);
    const selector = labelSelector || undefined;
    const list = namespace
        ? () => api.listNamespacedConfigMap({ namespace, labelSelector: selector })
        : () => api.listConfigMapForAllNamespaces({ labelSelector: selector });
    // the informer applies the list in the microtask that follows, before any view request is read
    const listFn = async () => { const listed = await list(); synced = true; return listed; };
    const path = namespace ? `/api/v1/namespaces/${namespace}/configmaps` : '/api/v1/configmaps';
    informer = k8s.makeInformer(kc, path, listFn, selector);
    if (scale !== 1) {
        // the informer's reconnect backoff (1 s doubling to 30 s) goes through its delayFn
        informer.delayFn = (ms) => sleep(ms * scale);
    }
    informer.on('error', () => {
        // the documented restart: "Restart informer after 5sec"
        setTimeout(() => { if (!stopped) informer.start(); }, 5000 * scale);
    });
    informer.start();
}

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
    if (informer) informer.stop();
    process.exit(0);
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
    const request = JSON.parse(line);
    if (request.op === 'start') {
        start(request);
        process.stdout.write(JSON.stringify({ started: true }) + '\n');
    } else if (request.op === 'view') process.stdout.write(JSON.stringify(view()) + '\n');
    else if (request.op === 'stop') stop();
});
input.on('close', stop);
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
