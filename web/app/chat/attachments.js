// @ts-check
// Owns how a post's Slack-style attachments look (`props.attachments`: colour bar,
// pretext, author, title, text, fields, footer) and their buttons and menus, which
// call the server's post action; the integration's answer comes back as events.

import { h, renderMarkdown } from '../dom.js';

/** @typedef {import('../types.js').Post} Post */
/** @typedef {import('../types.js').Attachment} Attachment */
/** @typedef {import('../types.js').PostAction} PostAction */
/** @typedef {import('../model.js').Model} Model */

/** Colours Mattermost names for attachments and buttons. */
const NAMED_COLOURS = /** @type {Record<string, string>} */ ({
    good: '#3db887', success: '#3db887', warning: '#ffbc1f', danger: '#d24b4e', primary: '#166de0',
});

/** @param {unknown} value @returns {value is Attachment[]} */
function isAttachmentList(value) {
    return Array.isArray(value) && value.every((a) => a && typeof a === 'object');
}

/**
 * The attachments of a post, or null when it has none.
 * @param {Post} post
 * @param {object} options
 * @param {Model} options.model
 * @param {(message: string) => void} options.showNotice shows a click's failure
 * @returns {HTMLElement | null}
 */
export function renderAttachments(post, { model, showNotice }) {
    const attachments = post.props?.attachments;
    if (!isAttachmentList(attachments) || attachments.length === 0) {
        return null;
    }
    /** @param {PostAction} action @param {string} [option] @param {HTMLElement} [control] */
    async function act(action, option, control) {
        control?.setAttribute('aria-busy', 'true');
        if (control instanceof HTMLButtonElement || control instanceof HTMLSelectElement) {
            control.disabled = true;
        }
        try {
            await model.doPostAction(post, action, option);
        } catch (err) {
            showNotice(err.message);
        } finally {
            control?.removeAttribute('aria-busy');
            if (control instanceof HTMLButtonElement || control instanceof HTMLSelectElement) {
                control.disabled = Boolean(action.disabled);
            }
        }
    }
    return h('div', { class: 'attachments' }, attachments.map((attachment) => {
        const colour = NAMED_COLOURS[attachment.color || ''] || attachment.color || '#c8ccd0';
        const fields = (attachment.fields || []).filter((f) => f && (f.title || f.value !== undefined));
        const actions = (attachment.actions || []).filter((a) => a && a.id);
        return h('section', { class: 'attachment', style: `border-left-color: ${colour}` },
            attachment.pretext ? h('div', { class: 'attachment-pretext' }, renderMarkdown(attachment.pretext)) : null,
            attachment.author_name ? h('div', { class: 'attachment-author' }, attachment.author_name) : null,
            attachment.title
                ? h('div', { class: 'attachment-title' }, attachment.title_link
                    ? h('a', { href: attachment.title_link, target: '_blank', rel: 'noopener noreferrer' }, attachment.title)
                    : attachment.title)
                : null,
            attachment.text ? h('div', { class: 'attachment-text' }, renderMarkdown(attachment.text)) : null,
            fields.length ? h('dl', { class: 'attachment-fields' }, fields.map((f) => h('div', { class: f.short ? 'short' : '' },
                h('dt', null, f.title || ''),
                h('dd', null, renderMarkdown(typeof f.value === 'string' ? f.value : JSON.stringify(f.value ?? '')))))) : null,
            actions.length ? h('div', { class: 'attachment-actions', role: 'group', 'aria-label': 'Message buttons' },
                actions.map((action) => renderAction(action, act, () => menuChoices(post, action, model)))) : null,
            attachment.footer ? h('div', { class: 'attachment-footer' }, attachment.footer) : null,
        );
    }));
}

/**
 * The choices of a menu filled from the server, as Mattermost's web app offers them:
 * the members of the post's team (`users`) or its open channels (`channels`), the
 * value being the user's or channel's id.
 * @param {Post} post
 * @param {PostAction} action
 * @param {Model} model
 * @returns {Promise<{ text: string, value: string }[]>}
 */
async function menuChoices(post, action, model) {
    const teamId = model.channels.get(post.channel_id)?.team_id || model.teamId;
    if (action.data_source === 'users') {
        const users = await model.teamUsers(teamId);
        return users.map((u) => ({ text: `@${u.username}`, value: u.id }));
    }
    if (action.data_source === 'channels') {
        const channels = await model.openChannels(teamId);
        return (channels || []).map((c) => ({ text: c.display_name || c.name, value: c.id }));
    }
    return [];
}

/**
 * @param {PostAction} action
 * @param {(action: PostAction, option?: string, control?: HTMLElement) => void} act
 * @param {() => Promise<{ text: string, value: string }[]>} loadChoices a server-filled menu's choices
 */
function renderAction(action, act, loadChoices) {
    const name = action.name || action.id || '';
    if (action.type === 'select') {
        const fromServer = action.data_source === 'users' || action.data_source === 'channels';
        /** @type {HTMLSelectElement} */
        const select = h('select', {
            class: 'attachment-menu',
            'aria-label': name,
            disabled: action.disabled,
            onchange: () => {
                if (select.value) {
                    act(action, select.value, select);
                }
            },
        }, h('option', { value: '' }, name), (fromServer ? [] : action.options || []).map((o) => h('option', { value: o.value }, o.text)));
        if (fromServer) {
            // Filled on first use, not for every post shown.
            let loading = /** @type {Promise<void> | null} */ (null);
            const fill = () => {
                loading ||= loadChoices().then((choices) => {
                    select.append(...choices.map((o) => h('option', { value: o.value }, o.text)));
                }).catch((err) => {
                    loading = null;
                    console.warn(`${name}: the menu's choices are unavailable:`, err.message);
                });
            };
            select.addEventListener('focus', fill);
            select.addEventListener('pointerdown', fill);
            select.dataset.source = action.data_source;
        }
        return select;
    }
    const style = action.style && NAMED_COLOURS[action.style] ? ` ${action.style}` : '';
    /** @type {HTMLButtonElement} */
    const button = h('button', {
        type: 'button',
        class: `button small attachment-button${style}`,
        disabled: action.disabled,
        onclick: () => act(action, '', button),
    }, name);
    return button;
}
