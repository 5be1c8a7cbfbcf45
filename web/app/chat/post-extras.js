// @ts-check
// Owns what hangs under a post's text: its files (image thumbnails that open the
// full image, other files as download cards) and its reactions (one chip per emoji
// with its count, pressed when it is mine; a click toggles mine), and the emoji
// picker behind "Add reaction"; and the status dots beside people's names. Emoji glyphs come from the server's table
// (`/static/emoji.json`), the same data it checks names against.

import { h, clear, openDialog } from '../dom.js';

/** @typedef {import('../types.js').Post} Post */
/** @typedef {import('../types.js').FileInfo} FileInfo */
/** @typedef {import('../model.js').Model} Model */

/** What the picker offers before anything is typed. */
const FAVOURITES = ['+1', 'smile', 'heart', 'tada', 'joy', 'eyes', 'white_check_mark', 'rocket', 'thinking', 'pray', 'fire', '-1'];
/** Most matches the picker lists for a search. */
const PICKER_MAX = 60;

/** @param {number} bytes */
function formatSize(bytes) {
    if (bytes < 1024) {
        return `${bytes} B`;
    }
    const units = ['KB', 'MB', 'GB'];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
    }
    return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * An emoji as a span: its glyph when the table is loaded, else `:name:` (filled in
 * once it is, see fillEmoji).
 * @param {Model} model
 * @param {string} name
 */
export function emojiElement(model, name) {
    const glyph = model.emojiGlyphs[name];
    return h('span', { class: 'emoji', dataset: { emoji: name }, title: `:${name}:` }, glyph || `:${name}:`);
}

/** Gives every emoji under `root` its glyph, once the table is there. @param {Model} model @param {ParentNode} root */
export function fillEmoji(model, root) {
    root.querySelectorAll('.emoji[data-emoji]').forEach((el) => {
        const glyph = model.emojiGlyphs[/** @type {HTMLElement} */ (el).dataset.emoji || ''];
        if (glyph) {
            el.textContent = glyph;
        }
    });
}

/** @param {FileInfo} file */
function isImage(file) {
    return /^image\/(png|jpeg|gif|webp)$/.test(file.mime_type || '');
}

/**
 * A post's files, or null without any.
 * @param {Post} post
 */
export function renderFiles(post) {
    const files = post.metadata?.files || [];
    if (files.length === 0) {
        return null;
    }
    return h('div', { class: 'post-files' }, files.map((file) => {
        const url = `/api/v4/files/${file.id}`;
        if (isImage(file)) {
            /** @type {HTMLImageElement} */
            const img = h('img', {
                class: 'file-thumbnail',
                src: `${url}/thumbnail`,
                alt: file.name,
                loading: 'lazy',
                width: file.width && file.width < 240 ? String(file.width) : undefined,
            });
            // A thumbnail is made after the upload: until then show the original.
            img.addEventListener('error', () => {
                if (!img.src.endsWith(url)) {
                    img.src = url;
                }
            }, { once: true });
            return h('a', { class: 'file-image', href: url, target: '_blank', rel: 'noopener', title: file.name }, img);
        }
        return h('a', { class: 'file-card', href: `${url}?download=1`, download: file.name },
            h('span', { class: 'file-name' }, file.name),
            h('span', { class: 'file-size' }, formatSize(file.size)));
    }));
}

/**
 * A post's reactions as toggle chips, or null without any.
 * @param {Post} post
 * @param {object} options
 * @param {Model} options.model
 * @param {(message: string) => void} options.showNotice
 */
export function renderReactions(post, { model, showNotice }) {
    const reactions = post.metadata?.reactions || [];
    if (reactions.length === 0) {
        return null;
    }
    /** @type {Map<string, string[]>} emoji -> who */
    const byEmoji = new Map();
    for (const reaction of reactions) {
        byEmoji.set(reaction.emoji_name, [...(byEmoji.get(reaction.emoji_name) || []), reaction.user_id]);
    }
    return h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' }, [...byEmoji].map(([name, users]) => {
        const mine = users.includes(model.me.id);
        const names = users.map((id) => model.userName(id)).join(', ');
        return h('button', {
            type: 'button',
            class: `reaction${mine ? ' mine' : ''}`,
            'aria-pressed': mine ? 'true' : 'false',
            'aria-label': `${name} reaction by ${names}`,
            title: `${names} reacted with :${name}:`,
            onclick: () => model.toggleReaction(post, name).catch((err) => showNotice(err.message)),
        }, emojiElement(model, name), h('span', { class: 'count' }, String(users.length)));
    }));
}

/**
 * Asks which emoji to react with: a search over the server's shortcodes.
 * @param {Model} model
 * @returns {Promise<string | undefined>}
 */
export async function pickEmoji(model) {
    const table = await model.emojis();
    const names = Object.keys(table);
    return openDialog('Add reaction', (close) => {
        /** @type {HTMLInputElement} */
        const search = h('input', { type: 'search', class: 'emoji-search', placeholder: 'Search emoji', 'aria-label': 'Search emoji', autofocus: true });
        const grid = h('div', { class: 'emoji-grid', role: 'listbox', 'aria-label': 'Emoji' });
        const render = () => {
            const term = search.value.trim().toLowerCase().replace(/^:|:$/g, '');
            const shown = term
                ? names.filter((n) => n.includes(term)).sort((a, b) => Number(!b.startsWith(term)) - Number(!a.startsWith(term)) || a.length - b.length).slice(0, PICKER_MAX)
                : FAVOURITES.filter((n) => table[n]);
            clear(grid);
            if (shown.length === 0) {
                grid.append(h('p', { class: 'muted' }, 'No emoji has that name.'));
            }
            for (const name of shown) {
                grid.append(h('button', { type: 'button', class: 'emoji-choice', role: 'option', title: `:${name}:`, 'aria-label': name, onclick: () => close(name) }, table[name]));
            }
        };
        search.addEventListener('input', render);
        search.addEventListener('keydown', (event) => {
            if (event.key === 'Enter') {
                event.preventDefault();
                const first = /** @type {HTMLButtonElement | null} */ (grid.querySelector('.emoji-choice'));
                first?.click();
            }
        });
        render();
        return h('div', { class: 'emoji-picker' }, search, grid);
    }, { className: 'emoji-dialog' });
}

const STATUS_LABELS = /** @type {Record<string, string>} */ ({
    online: 'Online', away: 'Away', dnd: 'Do not disturb', offline: 'Offline',
});

/**
 * A user's status dot; kept current by updateStatusDots.
 * @param {Model} model
 * @param {string} userId
 */
export function statusDot(model, userId) {
    const status = model.statusOf(userId);
    return h('span', {
        class: 'status-dot',
        role: 'img',
        dataset: { userId, status },
        'aria-label': STATUS_LABELS[status] || 'Status unknown',
        title: STATUS_LABELS[status] || '',
    });
}

/** Brings every status dot under `root` up to date. @param {Model} model @param {ParentNode} root */
export function updateStatusDots(model, root) {
    root.querySelectorAll('.status-dot[data-user-id]').forEach((el) => {
        const dot = /** @type {HTMLElement} */ (el);
        const status = model.statusOf(dot.dataset.userId || '');
        dot.dataset.status = status;
        dot.setAttribute('aria-label', STATUS_LABELS[status] || 'Status unknown');
        dot.title = STATUS_LABELS[status] || '';
    });
}
