// @ts-check
// Owns the small DOM helpers: element creation, dialogs, time formatting and a safe
// subset of Markdown. No framework: views build elements with h() and update them in place.

/**
 * h('button', {class: 'x', onclick: fn, 'aria-label': 'Close'}, 'text', child…)
 * Attributes starting with "on" become listeners; `false`/`null` attributes are
 * skipped; children may be strings, nodes, arrays, or null.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
        for (const [name, value] of Object.entries(attrs)) {
            if (value === false || value === null || value === undefined) {
                continue;
            }
            if (name.startsWith('on') && typeof value === 'function') {
                el.addEventListener(name.slice(2).toLowerCase(), value);
            } else if (name === 'class') {
                el.className = value;
            } else if (name === 'dataset') {
                Object.assign(el.dataset, value);
            } else if (name === 'value' || name === 'checked' || name === 'selected') {
                /** @type {any} */ (el)[name] = value;
            } else {
                el.setAttribute(name, value === true ? '' : String(value));
            }
        }
    }
    append(el, children);
    return el;
}

/**
 * @template {Node & ParentNode} T
 * @param {T} el
 * @param {any[]} children
 * @returns {T}
 */
export function append(el, children) {
    for (const child of children.flat(Infinity)) {
        if (child === null || child === undefined || child === false) {
            continue;
        }
        el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
}

/** @template {Node} T @param {T} el @returns {T} */
export function clear(el) {
    while (el.firstChild) {
        el.firstChild.remove();
    }
    return el;
}

let idCounter = 0;
/** A document-unique id for label/aria wiring. @param {string} [prefix] */
export function uid(prefix = 'id') {
    idCounter += 1;
    return `${prefix}-${idCounter}`;
}

/**
 * A labelled form field: returns {wrap, input}.
 * @template {HTMLElement} T
 * @param {string} label
 * @param {T} input
 * @param {string} [help]
 * @returns {{wrap: HTMLDivElement, input: T}}
 */
export function field(label, input, help) {
    const id = input.id || uid('f');
    input.id = id;
    /** @type {HTMLElement[]} */
    const parts = [h('label', { for: id }, label), input];
    if (help) {
        const helpId = uid('help');
        input.setAttribute('aria-describedby', helpId);
        parts.push(h('p', { class: 'help', id: helpId }, help));
    }
    return { wrap: h('div', { class: 'field' }, parts), input };
}

/**
 * A modal dialog (native <dialog>: focus is trapped, Escape closes it). `build(close)`
 * returns the body. Resolves with the value passed to close(). The dialog removes
 * itself when closed.
 * @param {string} title
 * @param {(close: (value?: any) => void) => Node} build
 * @param {{className?: string}} [options]
 * @returns {Promise<any>}
 */
export function openDialog(title, build, { className = '' } = {}) {
    return new Promise((resolve) => {
        const titleId = uid('dlg-title');
        const dialog = h('dialog', { class: `dialog ${className}`, 'aria-labelledby': titleId });
        /** @type {any} */
        let result;
        const close = (/** @type {any} */ value) => {
            result = value;
            dialog.close();
        };
        const closeButton = h('button', { type: 'button', class: 'icon-button dialog-close', 'aria-label': 'Close', onclick: () => close(undefined) }, '×');
        dialog.append(h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, title), closeButton));
        dialog.append(h('div', { class: 'dialog-body' }, build(close)));
        dialog.addEventListener('close', () => {
            dialog.remove();
            resolve(result);
        });
        document.body.append(dialog);
        dialog.showModal();
        const first = /** @type {HTMLElement | null} */ (dialog.querySelector('[autofocus]') || dialog.querySelector('input, select, textarea, button:not(.dialog-close)'));
        if (first) {
            first.focus();
        }
    });
}

/**
 * Ask for confirmation; resolves true or false.
 * @param {string} title
 * @param {string} message
 * @param {string} [confirmLabel]
 * @param {{danger?: boolean}} [options]
 * @returns {Promise<boolean>}
 */
export function confirmDialog(title, message, confirmLabel = 'OK', { danger = false } = {}) {
    return openDialog(title, (close) => h('div', null,
        h('p', null, message),
        h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'button', onclick: () => close(false) }, 'Cancel'),
            h('button', { type: 'button', class: danger ? 'button danger' : 'button primary', autofocus: true, onclick: () => close(true) }, confirmLabel),
        ),
    )).then((value) => value === true);
}

/** "14:05" today, else "Mar 3 14:05". @param {number} ms */
export function formatTime(ms) {
    const date = new Date(ms);
    const now = new Date();
    const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (date.toDateString() === now.toDateString()) {
        return time;
    }
    return `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

/**
 * Renders a message with a safe subset of Markdown into DOM nodes: `code`,
 * **bold**, *italic* or _italic_, http(s) links, and line breaks. Text is never parsed
 * as HTML.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
    const frag = document.createDocumentFragment();
    const lines = String(text).split('\n');
    lines.forEach((line, i) => {
        if (i > 0) {
            frag.append(h('br'));
        }
        appendInline(frag, line);
    });
    return frag;
}

const INLINE = /(\\[\\`*_{}[\]()#+\-.!~>|])|(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*)|(\b_[^_\s][^_]*_\b)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])|((?<![\w@])@[a-z0-9_-]+(?:\.[a-z0-9_-]+)*)/i;

/** @param {ParentNode} parent @param {string} text */
function appendInline(parent, text) {
    let rest = text;
    while (rest.length > 0) {
        const match = INLINE.exec(rest);
        if (!match) {
            parent.append(rest);
            return;
        }
        if (match.index > 0) {
            parent.append(rest.slice(0, match.index));
        }
        const token = match[0];
        if (match[1]) {
            parent.append(token.slice(1));
        } else if (match[2]) {
            parent.append(h('code', null, token.slice(1, -1)));
        } else if (match[3]) {
            const strong = h('strong');
            appendInline(strong, token.slice(2, -2));
            parent.append(strong);
        } else if (match[4] || match[5]) {
            const em = h('em');
            appendInline(em, token.slice(1, -1));
            parent.append(em);
        } else if (match[6]) {
            parent.append(h('a', { href: token, target: '_blank', rel: 'noopener noreferrer' }, token));
        } else {
            // `@name`: marked so that the post renderer can highlight the reader's own.
            parent.append(h('span', { class: 'mention', dataset: { mention: token.slice(1).toLowerCase() } }, token));
        }
        rest = rest.slice(match.index + token.length);
    }
}

/**
 * Keeps a focused element focused across a re-render keyed by data-focus-key.
 * @param {HTMLElement} container
 * @param {() => void} render
 */
export function preserveFocus(container, render) {
    const active = /** @type {HTMLElement | null} */ (document.activeElement);
    const key = active && container.contains(active) ? active.dataset.focusKey : undefined;
    render();
    if (key) {
        const again = /** @type {HTMLElement | null} */ (container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`));
        if (again) {
            again.focus();
        }
    }
}
