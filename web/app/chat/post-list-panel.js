// @ts-check
// Owns the post list panel (the aside the thread panel otherwise takes): a titled list
// of posts from wherever they are (a channel's pinned messages, the user's saved ones),
// each with its channel, author, time and text, and a "Jump" link to its permalink.
// What fills it is the caller's: it passes a loader and says what an empty list means.

import { h, clear, formatTime, renderMarkdown, uid } from '../dom.js';
import { permalinkPath } from './shared.js';

/** @typedef {import('../types.js').Post} Post */
/** @typedef {import('../model.js').Model} Model */

/**
 * @param {object} options
 * @param {Model} options.model
 * @param {() => void} options.onClose the close button or Escape
 */
export function createPostListPanel({ model, onClose }) {
    const titleId = uid('list-title');
    const title = h('h2', { id: titleId });
    const status = h('p', { class: 'thread-status', role: 'status' });
    const list = h('ol', { class: 'post-results', 'aria-labelledby': titleId });
    const element = h('aside', { class: 'post-list-panel', 'aria-labelledby': titleId },
        h('header', { class: 'thread-head' },
            title,
            h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close list', onclick: () => onClose() }, '×')),
        status,
        list,
    );
    element.addEventListener('keydown', (event) => {
        if (event.key === 'Escape' && !event.defaultPrevented) {
            event.preventDefault();
            onClose();
        }
    });
    /** The list shown now: a newer show() makes an older load's answer stale. */
    let shown = 0;
    /** @type {{load: () => Promise<Post[]>, empty: string} | null} */
    let current = null;

    /** @param {Post} post */
    function item(post) {
        const channel = model.channels.get(post.channel_id);
        return h('li', { class: 'post-result', dataset: { postId: post.id } },
            h('div', { class: 'post-head' },
                h('span', { class: 'author' }, model.userName(post.user_id)),
                ' ',
                h('time', { datetime: new Date(post.create_at).toISOString(), title: new Date(post.create_at).toLocaleString() }, formatTime(post.create_at)),
                channel ? h('span', { class: 'result-channel' }, ` in ${channel.type === 'O' ? '#' : ''}${model.channelName(channel)}`) : null,
                h('a', { class: 'jump', href: permalinkPath(model, post.id), 'aria-label': `Jump to the message of ${model.userName(post.user_id)}` }, 'Jump')),
            h('div', { class: 'post-body' }, renderMarkdown(post.message)));
    }

    async function refresh() {
        const token = ++shown;
        const what = current;
        if (!what) {
            return;
        }
        status.textContent = 'Loading…';
        try {
            const posts = await what.load();
            if (token !== shown) {
                return;
            }
            clear(list).append(...posts.map(item));
            status.textContent = posts.length ? '' : what.empty;
        } catch (err) {
            if (token === shown) {
                clear(list);
                status.textContent = `Cannot load the list: ${err.message}`;
            }
        }
    }

    return {
        element,
        /**
         * Shows a list: its title, how to load it, and what to say when it is empty.
         * @param {string} heading
         * @param {() => Promise<Post[]>} load
         * @param {string} empty
         */
        show(heading, load, empty) {
            title.textContent = heading;
            current = { load, empty };
            clear(list);
            refresh();
        },
        /** Loads the list shown again (a post was pinned or saved meanwhile). */
        refresh,
        /** The heading of the list shown, or '' once closed. */
        heading: () => (current ? title.textContent || '' : ''),
        close() {
            current = null;
            shown += 1;
            clear(list);
        },
        focus() {
            /** @type {HTMLElement | null} */ (element.querySelector('.jump, button'))?.focus();
        },
    };
}
