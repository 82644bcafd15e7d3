// Test page: renders a Dashboard Studio definition with Splunk's published dashboard framework
// and writes machine-readable results into <pre id="wd-result"> for `chromium --dump-dom`.
//
// URL: index.html?case=NAME  -> fetches cases/NAME.json = {"definition": {...}}
// Optional query parameters: settle=MS (max wait after mount, default 12000), width=PX (1440).
import React from 'react';
import { createRoot } from 'react-dom/client';
import { DashboardContextProvider } from '@splunk/dashboard-context';
import DashboardCore from '@splunk/dashboard-core';
import EnterpriseViewOnlyPreset from '@splunk/dashboard-presets/EnterpriseViewOnlyPreset';
import { createSchemaBasedOnPresets } from '@splunk/dashboard-definition';
import { DashboardValidator } from '@splunk/dashboard-validation';

const capture = window.__wdCapture || { errors: [], warnings: [], start: Date.now() };
const params = new URLSearchParams(window.location.search);
const caseName = params.get('case');
const maxSettleMs = Number(params.get('settle') || 12000);
const width = Number(params.get('width') || 1440);
const preset = EnterpriseViewOnlyPreset;

const state = {
    coreValidationErrors: [],
    renderedEvent: false,
    tokens: null,
    coreApi: null,
    // ajv "strict mode: missing type" warnings printed while compiling the preset schema; the
    // framework compiles the same schema in its validation web worker, whose console is not captured.
    schemaCompileWarnings: 0,
};
document.addEventListener('dashboardCore.rendered', () => {
    state.renderedEvent = true;
});

// DashboardCore validates the definition in a Blob web worker (Validator in
// @splunk/dashboard-validation). Under --virtual-time-budget the page's clock runs ahead of the
// worker, which needs real seconds to compile the schema, so its answer (and so
// onValidationError) would often come after the result was written. Answer the validation
// worker's request here instead, with the same code the worker runs (and the framework's own
// no-Worker fallback runs): new DashboardValidator().setSchema(schema) then .validate(...).
state.coreValidationRuns = 0;
if (window.Worker) {
    const BaseWorker = window.Worker;
    const Worker = function (url, opts) {
        const w = new BaseWorker(url, opts);
        const post = w.postMessage.bind(w);
        w.postMessage = (data, ...rest) => {
            if (data && typeof data === 'object' && data.schema && 'definition' in data && 'readOnlyTokenNamespaces' in data) {
                state.coreValidationRuns += 1;
                let result;
                const origWarn = console.warn;
                console.warn = () => {
                    state.schemaCompileWarnings += 1;
                };
                try {
                    const v = new DashboardValidator();
                    result = v.setSchema(data.schema) || v.validate(data.definition, data.readOnlyTokenNamespaces);
                } catch (e) {
                    result = e;
                } finally {
                    console.warn = origWarn;
                }
                setTimeout(() => w.dispatchEvent(new MessageEvent('message', { data: result })), 0);
                return undefined;
            }
            return post(data, ...rest);
        };
        return w;
    };
    Worker.prototype = BaseWorker.prototype;
    window.Worker = Worker;
}

const sorted = (obj) => Object.keys(obj || {}).sort();

// Schema validation, the same way DashboardCore does it (see withValidationSchema and the
// validation worker in @splunk/dashboard-core / @splunk/dashboard-validation), but synchronously:
// schema = createSchemaBasedOnPresets(preset) from @splunk/dashboard-definition, then
// new DashboardValidator().setSchema(schema) / .validate(definition) from @splunk/dashboard-validation.
function schemaValidate(definition) {
    const origWarn = console.warn;
    console.warn = () => {
        state.schemaCompileWarnings += 1;
    };
    try {
        const schema = createSchemaBasedOnPresets(preset, {});
        const validator = new DashboardValidator();
        const setErr = validator.setSchema(schema);
        if (setErr) {
            return [{ instancePath: '', keyword: 'setSchema', message: String(setErr) }];
        }
        const errs = validator.validate(definition, []);
        if (!errs) return [];
        return (Array.isArray(errs) ? errs : [errs]).map((e) => ({
            instancePath: e.instancePath ?? '',
            keyword: e.keyword ?? null,
            message: e.message ?? String(e),
            params: e.params ?? null,
        }));
    } catch (e) {
        return [{ instancePath: '', keyword: 'exception', message: `${e && e.name}: ${e && e.message}` }];
    } finally {
        console.warn = origWarn;
    }
}

// Cross-reference checks the JSON schema does not do (a viz whose dataSources.primary names no
// data source passes schema validation and just shows its placeholder icon).
function checkReferences(definition) {
    const problems = [];
    const ds = definition.dataSources || {};
    const vizzes = definition.visualizations || {};
    const inputs = definition.inputs || {};
    const refDs = (kind, id, item) =>
        Object.entries((item && item.dataSources) || {}).forEach(([role, dsId]) => {
            if (!(dsId in ds)) problems.push(`${kind} ${id}: dataSources.${role} = "${dsId}" is not defined in dataSources`);
        });
    Object.entries(vizzes).forEach(([id, v]) => refDs('visualization', id, v));
    Object.entries(inputs).forEach(([id, v]) => refDs('input', id, v));
    Object.entries(ds).forEach(([id, d]) => {
        const ext = d && d.options && d.options.extend;
        if (ext && !(ext in ds)) problems.push(`dataSource ${id}: options.extend = "${ext}" is not defined`);
    });
    const layout = definition.layout || {};
    const layoutDefs = [['layout', layout], ...Object.entries(layout.layoutDefinitions || {})];
    const placed = new Set();
    layoutDefs.forEach(([lid, l]) => {
        (Array.isArray(l.structure) ? l.structure : []).forEach((it, i) => {
            if (!it || !it.item) return;
            placed.add(it.item);
            if (!(it.item in vizzes) && !(it.item in inputs)) problems.push(`${lid}.structure[${i}]: item "${it.item}" is not a defined visualization or input`);
        });
    });
    (layout.globalInputs || []).forEach((id) => {
        placed.add(id);
        if (!(id in inputs)) problems.push(`layout.globalInputs: "${id}" is not a defined input`);
    });
    ((layout.tabs && layout.tabs.items) || []).forEach((t, i) => {
        if (t && t.layoutId && !((layout.layoutDefinitions || {})[t.layoutId])) problems.push(`layout.tabs.items[${i}]: layoutId "${t.layoutId}" has no layoutDefinition`);
    });
    Object.keys(vizzes).forEach((id) => placed.has(id) || problems.push(`visualization ${id} is not placed in any layout structure`));
    Object.keys(inputs).forEach((id) => placed.has(id) || problems.push(`input ${id} is not placed in globalInputs or any layout structure`));
    return problems;
}

function referencedEventHandlerTypes(definition) {
    const types = new Set();
    const visit = (items) =>
        Object.values(items || {}).forEach((item) =>
            (item && Array.isArray(item.eventHandlers) ? item.eventHandlers : []).forEach((h) => h && h.type && types.add(h.type))
        );
    visit(definition.visualizations);
    visit(definition.inputs);
    return [...types].sort();
}

// --- DOM inspection -----------------------------------------------------------------------
const NO_DATA_RE = /(no data|no results|invalid data|is not defined|waiting for data|search did not return|not supported|something went wrong|error (loading|rendering)|invalid (configuration|option))/i;

// DashboardCore marks each visualization as <div data-test="viz-item" data-id=ID data-viz-type=TYPE>
// (inside <div id=ID data-test="grid-item"> for grid layout, data-test="absolute-item" for absolute),
// and each input as <div data-test="input-item" data-input-id=ID data-input-type=TYPE>.
function findItemElement(id) {
    const esc = window.CSS && CSS.escape ? CSS.escape(id) : id;
    return (
        document.querySelector(`[data-test="viz-item"][data-id="${esc}"]`) ||
        document.querySelector(`[data-input-id="${esc}"]`) ||
        document.querySelector(`[data-id="${esc}"]`) ||
        null
    );
}

const clean = (t) => (t || '').replace(/[\s\u200b]+/g, ' ').trim();
const textsOf = (el, sel) => [...el.querySelectorAll(sel)].map((n) => clean(n.textContent)).filter(Boolean);

// visible text without dnd-kit's hidden screen-reader instructions ("To pick up a draggable item...")
function visibleText(el) {
    const c = el.cloneNode(true);
    c.querySelectorAll('[id^="DndDescribedBy"], [id^="DndLiveRegion"], style, script').forEach((n) => n.remove());
    return clean(c.textContent);
}

function canvasInfo(c) {
    const info = { width: c.width, height: c.height, nonBlankPixels: null };
    try {
        const ctx = c.getContext('2d', { willReadFrequently: true });
        if (ctx && c.width > 0 && c.height > 0) {
            const data = ctx.getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n += 1;
            info.nonBlankPixels = n;
        }
    } catch (e) {
        info.error = String(e);
    }
    return info;
}

function describeElement(el) {
    if (!el) return { found: false, text: '', svg: 0, canvas: 0, noData: false };
    const text = visibleText(el);
    const svgs = el.querySelectorAll('svg');
    const canvases = [...el.querySelectorAll('canvas')];
    // SVG labels: <text> (Highcharts charts) and <foreignObject> HTML labels (sankey nodes)
    const svgText = textsOf(el, 'svg text');
    const svgForeignText = textsOf(el, 'svg foreignObject');
    // linkgraph draws nodes as <button class="node"> with the label in the first <p>
    const nodeLabels = [...el.querySelectorAll('button.node [data-test="node-content"]')]
        .map((n) => clean(n.textContent))
        .filter(Boolean);
    // framework messages (e.g. "Cannot access splunkweb.", "... is not defined", no data)
    // <div data-test="message" data-test-type="error|info|warning"><... data-test="content">TEXT
    const messages = [...el.querySelectorAll('[data-test="message"]')]
        .map((m) => ({
            type: m.getAttribute('data-test-type') || '',
            text: clean((m.querySelector('[data-test="content"]') || m).textContent),
        }))
        .filter((m) => m.text);
    // header status icon (shown e.g. for an empty or missing data source): "Status ok", "Warning", ...
    const status = [...el.querySelectorAll('[data-test="status-icon-container"] [aria-label]')].map((n) => n.getAttribute('aria-label'));
    const title = clean((el.querySelector('[data-test="viz-title"]') || {}).textContent);
    const table = el.querySelector('table')
        ? {
              headers: textsOf(el, 'thead th'),
              rows: [...el.querySelectorAll('tbody tr')].map((tr) => textsOf(tr, 'td')),
          }
        : null;
    const rect = el.getBoundingClientRect();
    const bigSvgs = [...svgs].filter((s) => {
        const r = s.getBoundingClientRect();
        return r.width > 50 && r.height > 50;
    }).length;
    return {
        found: true,
        text,
        svg: svgs.length,
        bigSvg: bigSvgs,
        svgText,
        svgForeignText,
        nodeLabels,
        messages,
        status,
        title,
        table,
        vizTypeAttr: el.getAttribute('data-viz-type') || el.getAttribute('data-input-type'),
        // grey type icon shown instead of the viz when it has no data source / no data to draw
        placeholder: !!el.querySelector('[data-test="icon-placeholder"]'),
        inputValues: [...el.querySelectorAll('input')].map((i) => i.value),
        svgShapes: el.querySelectorAll('svg path, svg rect, svg circle, svg line, svg polygon').length,
        canvas: canvases.length,
        canvases: canvases.map(canvasInfo),
        noData: NO_DATA_RE.test(text) || messages.length > 0 || !!el.querySelector('[data-test="icon-placeholder"]'),
        rect: { x: Math.round(rect.x), y: Math.round(rect.y), width: Math.round(rect.width), height: Math.round(rect.height) },
        dataTest: el.getAttribute('data-test'),
    };
}

function collect(definition, extra) {
    const visualizations = {};
    Object.entries(definition.visualizations || {}).forEach(([id, viz]) => {
        visualizations[id] = { type: viz && viz.type, ...describeElement(findItemElement(id)) };
    });
    const inputs = {};
    Object.entries(definition.inputs || {}).forEach(([id, input]) => {
        const d = describeElement(findItemElement(id));
        inputs[id] = { type: input && input.type, found: d.found, text: d.text, values: d.inputValues || [], messages: d.messages || [], rect: d.rect };
    });
    const layoutItems = {};
    const lay = definition.layout || {};
    [lay, ...Object.values(lay.layoutDefinitions || {})].forEach((l) =>
        (Array.isArray(l.structure) ? l.structure : []).forEach((it) => {
            if (it && it.item) {
                const esc = window.CSS && CSS.escape ? CSS.escape(it.item) : it.item;
                layoutItems[it.item] = !!document.querySelector(`[data-test="grid-item"]#${esc}, [data-test="absolute-item"][data-id="${esc}"], [data-id="${esc}"]`);
            }
        })
    );
    const vizTypes = sorted(preset.visualizations);
    const eventHandlerTypes = sorted(preset.eventHandlers);
    const usedVizTypes = [...new Set(Object.values(definition.visualizations || {}).map((v) => v && v.type))].sort();
    const usedInputTypes = [...new Set(Object.values(definition.inputs || {}).map((v) => v && v.type))].sort();
    const usedDsTypes = [...new Set(Object.values(definition.dataSources || {}).map((v) => v && v.type))].sort();
    const usedEh = referencedEventHandlerTypes(definition);
    return {
        case: caseName,
        ...extra,
        validation: {
            api: 'createSchemaBasedOnPresets(preset) from @splunk/dashboard-definition; new DashboardValidator().setSchema(schema).validate(def) from @splunk/dashboard-validation',
            // errors for the definition as the framework holds it after its own migrations
            // (dashboardCoreApi.getDefinition()); this is what DashboardCore itself validates
            schemaErrors: state.schemaErrors || [],
            // errors for the definition exactly as given in the case file (a legacy
            // layout {type, structure, options.width} shows up here but is migrated fine)
            rawSchemaErrors: state.rawSchemaErrors || [],
            // strings DashboardCore passed to onValidationError (from its worker-run validator)
            onValidationError: state.coreValidationErrors,
            coreValidationRuns: state.coreValidationRuns,
            // dangling ids: viz -> data source, layout -> viz/input, unplaced items (own check)
            references: checkReferences(definition),
            schemaCompileWarnings: state.schemaCompileWarnings,
        },
        migratedLayout: state.migrated ? state.migrated.layout : null,
        workers: capture.workers || [],
        consoleErrors: capture.errors,
        consoleWarnings: capture.warnings,
        visualizations,
        inputs,
        layoutItems,
        tokens: state.tokens,
        vizTypes,
        eventHandlerTypes,
        inputTypes: sorted(preset.inputs),
        dataSourceTypes: sorted(preset.dataSources),
        layoutTypes: sorted(preset.layouts),
        unknown: {
            vizTypes: usedVizTypes.filter((t) => !vizTypes.includes(t)),
            inputTypes: usedInputTypes.filter((t) => !(t in (preset.inputs || {}))),
            dataSourceTypes: usedDsTypes.filter((t) => !(t in (preset.dataSources || {}))),
            eventHandlerTypes: usedEh.filter((t) => !eventHandlerTypes.includes(t)),
        },
        resources: performance.getEntriesByType('resource').map((e) => e.name),
        location: window.location.href,
    };
}

function writeResult(obj) {
    if (document.getElementById('wd-result')) return;
    const pre = document.createElement('pre');
    pre.id = 'wd-result';
    pre.style.display = 'none';
    let json;
    try {
        json = JSON.stringify(obj);
    } catch (e) {
        json = JSON.stringify({ case: caseName, fatal: `could not serialise result: ${e}` });
    }
    pre.textContent = json;
    document.body.appendChild(pre);
    document.body.setAttribute('data-wd-done', '1');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A visualization counts as drawn when its element exists and shows text, an SVG bigger than an
// icon, or a non-blank canvas; "settled" when all are drawn and the DOM fingerprint is stable.
const TEXT_VIZ = new Set(['splunk.markdown', 'splunk.singlevalue', 'splunk.singlevalueicon', 'splunk.events', 'splunk.image', 'splunk.rectangle', 'splunk.ellipse', 'abslayout.line']);
function isDrawn(v) {
    if (!v.found) return false;
    if (v.noData || v.messages.length > 0 || v.placeholder) return true; // final states too
    if (v.type === 'splunk.table') return !!(v.table && v.table.rows.length > 0);
    if (TEXT_VIZ.has(v.type)) return v.text.length > v.title.length || v.svg > 0;
    if (v.bigSvg > 0 && v.svgShapes > 2) return true;
    if (v.nodeLabels.length > 0) return true;
    return v.canvases.some((c) => c.nonBlankPixels > 0);
}

async function settle(definition) {
    const t0 = performance.now();
    let last = '';
    let stableCount = 0;
    while (performance.now() - t0 < maxSettleMs) {
        await sleep(250);
        const vizzes = Object.entries(definition.visualizations || {}).map(([id, viz]) => ({
            type: viz && viz.type,
            ...describeElement(findItemElement(id)),
        }));
        const allDrawn = vizzes.every(isDrawn);
        const fp = JSON.stringify(vizzes.map((v) => [v.found, v.text.length, v.svg, v.svgShapes, v.canvases.map((c) => c.nonBlankPixels)]));
        stableCount = fp === last ? stableCount + 1 : 0;
        last = fp;
        // require ~1 s of stability after everything is drawn, and the framework's rendered event
        if (allDrawn && stableCount >= 4 && (state.renderedEvent || performance.now() - t0 > maxSettleMs / 2)) {
            return { settled: true, settleMs: Math.round(performance.now() - t0) };
        }
    }
    return { settled: false, settleMs: Math.round(performance.now() - t0) };
}

async function run() {
    if (!caseName) {
        writeResult({ case: null, fatal: 'missing ?case=NAME' });
        return;
    }
    let definition;
    try {
        const resp = await fetch(`cases/${encodeURIComponent(caseName)}.json`, { cache: 'no-store' });
        if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
        const body = await resp.json();
        definition = body.definition || body;
    } catch (e) {
        writeResult({ case: caseName, fatal: `could not load cases/${caseName}.json: ${e}`, consoleErrors: capture.errors, consoleWarnings: capture.warnings });
        return;
    }
    state.rawSchemaErrors = schemaValidate(definition);

    const onValidationError = (err) => {
        state.coreValidationErrors.push(typeof err === 'string' ? err : (err && err.message) || JSON.stringify(err));
    };
    const onTokenBindingChange = (tokens) => {
        try {
            state.tokens = JSON.parse(JSON.stringify(tokens));
        } catch (e) {
            state.tokens = String(tokens);
        }
    };
    // Give the canvas room for every item so nothing is cut off by DashboardCore's fixed height.
    const layouts = [definition.layout || {}, ...Object.values((definition.layout || {}).layoutDefinitions || {})];
    let layoutHeight = 0;
    layouts.forEach((l) => {
        layoutHeight = Math.max(layoutHeight, (l.options && Number(l.options.height)) || 0);
        (Array.isArray(l.structure) ? l.structure : []).forEach((it) => {
            const p = (it && it.position) || {};
            layoutHeight = Math.max(layoutHeight, (Number(p.y) || 0) + (Number(p.h) || 0));
        });
    });
    layoutHeight = Number(params.get('height')) || (layoutHeight || 1000) + 200;

    const root = createRoot(document.getElementById('root'));
    let renderError = null;
    class Boundary extends React.Component {
        constructor(p) {
            super(p);
            this.state = { err: null };
        }
        static getDerivedStateFromError(err) {
            return { err };
        }
        componentDidCatch(err) {
            renderError = `${err && err.name}: ${err && err.message}`;
        }
        render() {
            return this.state.err ? <div id="wd-render-error">{String(this.state.err)}</div> : this.props.children;
        }
    }
    try {
        root.render(
            <Boundary>
                <DashboardContextProvider
                    preset={preset}
                    initialDefinition={definition}
                    onTokenBindingChange={onTokenBindingChange}
                >
                    <DashboardCore
                        width={width}
                        height={layoutHeight}
                        onValidationError={onValidationError}
                        dashboardCoreApiRef={(api) => {
                            if (api) state.coreApi = api;
                        }}
                    />
                </DashboardContextProvider>
            </Boundary>
        );
    } catch (e) {
        renderError = `${e && e.name}: ${e && e.message}`;
    }
    const s = await settle(definition);
    try {
        state.migrated = state.coreApi && state.coreApi.getDefinition ? state.coreApi.getDefinition() : null;
    } catch (e) {
        state.migrated = null;
    }
    state.schemaErrors = state.migrated ? schemaValidate(state.migrated) : state.rawSchemaErrors;
    // give the framework's worker-run validator a moment to report (onValidationError)
    await sleep(300);
    writeResult(collect(definition, { ...s, renderedEvent: state.renderedEvent, renderError }));
}

run().catch((e) => writeResult({ case: caseName, fatal: `${e && e.name}: ${e && e.message}`, consoleErrors: capture.errors, consoleWarnings: capture.warnings }));
