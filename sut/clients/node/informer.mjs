// The @kubernetes/client-node informer, used as its example shows (examples/typescript/informer/
// informer.ts: makeInformer(kc, path, listFn), the 'add'/'update'/'delete'/'error' callbacks, and
// on 'error' the documented restart, `setTimeout(() => informer.start(), 5000)`), speaking JSON lines
// to the Python adapter (sut/clients/client_node.py):
//
//   node informer.mjs MODULES     (MODULES: the node_modules folder holding @kubernetes/client-node)
//   stdout {"ready": true} once the library is loaded (loading it costs about 1 s of CPU, so the adapter
//   keeps one process and runs each example's informer in it, one after the other);
//   stdin, one JSON object a line, stdout one answer each:
//     {"op": "start", "url", "namespace" ("" = all), "labelSelector", "scale"} -> {"started": true}
//       (a fresh KubeConfig, API client and informer, sharing nothing with the ones before;
//        scale multiplies the informer's reconnect backoff and the user's 5 s restart; 1 = as shipped)
//     {"op": "view"} ->
//     {"rv": latestResourceVersion() or null, "objects": [{namespace, name, labels, value, rv}],
//      "synced": a list returned once}
//     {"op": "stop"} -> {"stopped": true}: the informer is stopped and can make no request any more
//     {"op": "exit"} -> the process ends
//
// The process ends on "exit" and when stdin closes (the adapter died), so it never outlives it.
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

const [modules] = process.argv.slice(2);
const k8s = await import(pathToFileURL(join(modules, '@kubernetes', 'client-node', 'dist', 'index.js')).href);

let session = null; // the running example's informer: { informer, synced, stopped }

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
    // client-node has no has-synced signal: the user's listFn knows when a list returned
    const current = { informer: null, synced: false, stopped: false };
    // the informer applies the list in the microtask that follows, before any view request is read
    const listFn = async () => {
        if (current.stopped) throw new Error('the example ended'); // a stopped informer lists no more
        const listed = await list();
        current.synced = true;
        return listed;
    };
    const path = namespace ? `/api/v1/namespaces/${namespace}/configmaps` : '/api/v1/configmaps';
    const informer = current.informer = k8s.makeInformer(kc, path, listFn, selector);
    if (scale !== 1) {
        // the informer's reconnect backoff (1 s doubling to 30 s) goes through its delayFn
        informer.delayFn = (ms) => sleep(ms * scale);
    }
    informer.on('error', () => {
        // the documented restart: "Restart informer after 5sec"
        setTimeout(() => { if (!current.stopped) informer.start(); }, 5000 * scale);
    });
    session = current;
    informer.start();
}

function view() {
    const { informer, synced } = session;
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
    if (session === null) return;
    const { informer } = session;
    session.stopped = true;
    informer.stop();
    // a stopped ListWatch that was sleeping in its reconnect backoff still opens one more watch when
    // it wakes (cache.js doneHandler checks `stopped` only before the list); its watch now opens
    // nothing and never ends, so no request of this example reaches the next example's server
    informer.watch = { watch: async () => ({ abort() {} }) };
    session = null;
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
    const request = JSON.parse(line);
    if (request.op === 'start') {
        stop();
        start(request);
        process.stdout.write(JSON.stringify({ started: true }) + '\n');
    } else if (request.op === 'view') process.stdout.write(JSON.stringify(view()) + '\n');
    else if (request.op === 'stop') {
        stop();
        process.stdout.write(JSON.stringify({ stopped: true }) + '\n');
    } else if (request.op === 'exit') {
        stop();
        process.exit(0);
    }
});
input.on('close', () => { stop(); process.exit(0); });
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
