// @ts-check
// Owns the thread panel (the aside beside the channel): the open thread's root and
// replies as the model holds them, its status line, and the reply composer.

import { h, clear, uid } from '../dom.js';
import { createComposer } from './composer.js';
import { NEAR_BOTTOM_PX } from './shared.js';

/** @typedef {import('../types.js').SocketSender} SocketSender */
/** @typedef {import('../model.js').Model} Model */
/** @typedef {import('../plugins.js').PluginHost} PluginHost */
/** @typedef {import('./posts.js').PostRenderer} PostRenderer */

/**
 * @param {object} options
 * @param {Model} options.model
 * @param {PluginHost} options.host
 * @param {SocketSender} options.socket
 * @param {PostRenderer} options.posts
 * @param {() => void} options.onClose the close button or Escape
 */
export function createThreadPanel({ model, host, socket, posts: renderer, onClose }) {
    const titleId = uid('thread-title');
    const list = h('div', { class: 'thread-list', role: 'log', 'aria-label': 'Thread messages', tabindex: '0' });
    const status = h('p', { class: 'thread-status' });
    const threadComposer = createComposer({
        model,
        host,
        socket,
        label: 'Reply to thread',
        rootId: () => model.thread?.rootId || '',
    });
    const element = h('aside', { class: 'thread-panel', 'aria-labelledby': titleId },
        h('header', { class: 'thread-head' },
            h('h2', { id: titleId }, 'Thread'),
            h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close thread', onclick: () => onClose() }, '×')),
        status,
        list,
        threadComposer.element,
    );
    element.addEventListener('keydown', (event) => {
        if (event.key === 'Escape' && !event.defaultPrevented && !element.querySelector('.edit-form')) {
            event.preventDefault();
            onClose();
        }
    });
    const render = () => {
        const thread = model.thread;
        if (!thread) {
            clear(list);
            return;
        }
        const stick = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
        if (thread.error) {
            status.textContent = thread.error;
        } else if (thread.deleted) {
            status.textContent = 'This message was deleted.';
        } else {
            status.textContent = thread.loaded ? '' : 'Loading…';
        }
        if (list.querySelector('.edit-form')) {
            return;
        }
        for (const child of Array.from(list.children)) {
            renderer.dispose(child);
        }
        clear(list);
        const posts = [...thread.byId.values()].sort((a, b) => a.create_at - b.create_at);
        for (const post of posts) {
            const el = renderer.render(post, { inThread: true });
            if (post.id === thread.rootId) {
                el.classList.add('root');
            }
            list.append(el);
        }
        threadComposer.setChannel(model.channel);
        threadComposer.setEnabled(!thread.deleted);
        if (stick || !thread.rendered) {
            list.scrollTop = list.scrollHeight;
        }
        thread.rendered = thread.loaded;
    };
    const onThread = () => render();
    model.addEventListener('thread', onThread);
    return {
        element,
        open() {
            element.hidden = false;
        },
        focus() {
            threadComposer.focus();
        },
        destroy() {
            model.removeEventListener('thread', onThread);
            threadComposer.destroy();
        },
    };
}
