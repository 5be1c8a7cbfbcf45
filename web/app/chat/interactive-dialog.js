// @ts-check
// Owns the dialogs integrations open (`open_dialog`): a modal built from the dialog's
// elements (text and its subtypes, textarea, select with options, bool, radio), whose
// answers go to the integration; its errors keep the dialog open beside the fields
// they name, a `form` answer shows the next step, and closing it tells the integration
// when the dialog asked to be told.

import { h, openDialog, renderMarkdown, uid } from '../dom.js';

/** @typedef {import('../types.js').DialogRequest} DialogRequest */
/** @typedef {import('../types.js').DialogElement} DialogElement */
/** @typedef {import('../model.js').Model} Model */

const TEXT_SUBTYPES = new Set(['email', 'number', 'password', 'tel', 'url', 'text']);

/**
 * One element as a labelled input, with where its error goes and how to read it.
 * @param {DialogElement} element
 */
function renderElement(element) {
    const id = uid('dlg-el');
    const label = `${element.display_name || element.name}${element.optional ? ' (optional)' : ''}`;
    const error = h('p', { class: 'form-error field-error', role: 'alert' });
    const help = element.help_text ? h('p', { class: 'help' }, element.help_text) : null;
    const initial = element.default === undefined || element.default === null ? '' : String(element.default);
    /** @type {() => unknown} */
    let read;
    /** @type {HTMLElement} */
    let control;
    switch (element.type) {
        case 'textarea': {
            /** @type {HTMLTextAreaElement} */
            const input = h('textarea', { id, name: element.name, rows: '3', placeholder: element.placeholder, maxlength: element.max_length, required: !element.optional });
            input.value = initial;
            control = input;
            read = () => input.value;
            break;
        }
        case 'select': {
            /** @type {HTMLSelectElement} */
            const input = h('select', { id, name: element.name, required: !element.optional },
                h('option', { value: '' }, element.placeholder || 'Choose…'),
                (element.options || []).map((o) => h('option', { value: o.value, selected: o.value === initial }, o.text)));
            control = input;
            read = () => input.value;
            break;
        }
        case 'bool': {
            /** @type {HTMLInputElement} */
            const input = h('input', { id, name: element.name, type: 'checkbox', checked: initial === 'true' });
            control = input;
            read = () => input.checked;
            break;
        }
        case 'radio': {
            const name = uid('dlg-radio');
            const inputs = (element.options || []).map((o) => {
                /** @type {HTMLInputElement} */
                const input = h('input', { type: 'radio', name, value: o.value, checked: o.value === initial });
                return { input, wrap: h('label', { class: 'radio' }, input, ` ${o.text}`) };
            });
            control = h('div', { id, role: 'radiogroup', 'aria-label': label }, inputs.map((i) => i.wrap));
            read = () => inputs.find((i) => i.input.checked)?.input.value || '';
            break;
        }
        default: {
            const subtype = TEXT_SUBTYPES.has(element.subtype || '') ? element.subtype : 'text';
            /** @type {HTMLInputElement} */
            const input = h('input', { id, name: element.name, type: subtype, placeholder: element.placeholder, maxlength: element.max_length, minlength: element.min_length, required: !element.optional });
            input.value = initial;
            control = input;
            read = () => (subtype === 'number' && input.value !== '' ? Number(input.value) : input.value);
        }
    }
    const wrap = element.type === 'bool'
        ? h('div', { class: 'field checkbox' }, h('label', { for: id }, control, ` ${label}`), help, error)
        : h('div', { class: 'field' }, element.type === 'radio' ? h('span', { class: 'label' }, label) : h('label', { for: id }, label), control, help, error);
    return { element, wrap, error, read };
}

/**
 * Shows the dialog of `request`, and the next steps the integration answers with.
 * @param {Model} model
 * @param {DialogRequest} request
 */
export async function openInteractiveDialog(model, request) {
    let step = request;
    for (;;) {
        const dialog = step.dialog;
        const outcome = await openDialog(dialog.title || 'Dialog', (close) => {
            const fields = (dialog.elements || []).filter((e) => e && e.name).map(renderElement);
            const general = h('p', { class: 'form-error', role: 'alert' });
            /** @type {HTMLButtonElement} */
            const submit = h('button', { type: 'submit', class: 'button primary' }, dialog.submit_label || 'Submit');
            const form = h('form', {
                class: 'interactive-dialog',
                novalidate: true,
                onsubmit: async (/** @type {Event} */ event) => {
                    event.preventDefault();
                    general.textContent = '';
                    for (const f of fields) {
                        f.error.textContent = '';
                    }
                    const missing = fields.filter((f) => !f.element.optional && (f.read() === '' || f.read() === undefined));
                    for (const f of missing) {
                        f.error.textContent = 'This field is required.';
                    }
                    if (missing.length) {
                        return;
                    }
                    /** @type {Record<string, unknown>} */
                    const submission = {};
                    for (const f of fields) {
                        submission[f.element.name] = f.read();
                    }
                    submit.disabled = true;
                    try {
                        const answer = await model.submitDialog(step, submission, false);
                        const errors = answer?.errors || {};
                        if (answer?.error || Object.keys(errors).length) {
                            general.textContent = answer.error || '';
                            for (const [name, message] of Object.entries(errors)) {
                                const f = fields.find((x) => x.element.name === name);
                                if (f) {
                                    f.error.textContent = message;
                                } else {
                                    general.textContent = `${general.textContent} ${message}`.trim();
                                }
                            }
                            return;
                        }
                        close({ answer });
                    } catch (err) {
                        general.textContent = err.message;
                    } finally {
                        submit.disabled = false;
                    }
                },
            },
            dialog.introduction_text ? h('div', { class: 'dialog-intro' }, renderMarkdown(dialog.introduction_text)) : null,
            fields.map((f) => f.wrap),
            general,
            h('div', { class: 'actions' },
                h('button', { type: 'button', class: 'button', onclick: () => close(undefined) }, 'Cancel'),
                submit));
            return form;
        }, { className: 'integration-dialog' });
        if (!outcome) {
            if (dialog.notify_on_cancel) {
                model.submitDialog(step, {}, true).catch((err) => console.warn('cannot tell the integration of the cancel:', err.message));
            }
            return;
        }
        const next = outcome.answer;
        if (next && next.type === 'form' && next.form) {
            step = { ...step, dialog: next.form };
            continue;
        }
        return;
    }
}
