// @ts-check
// Owns how one post looks and the actions on it, for the channel view and the thread
// panel alike: author and time, the body (Markdown, or a plugin's post-type component),
// message attachments with their buttons (chat/attachments.js), files and reactions
// (chat/post-extras.js), reply links, mentions of the reader highlighted, and Reply /
// React / Save / Pin / Copy link / Mark unread / Edit (in place) / Delete. At most
// one post is edited at a time.

import { h, confirmDialog, formatTime, renderMarkdown } from '../dom.js';
import { isEphemeral } from '../model.js';
import { excerpt, permalinkPath, storeState } from './shared.js';
import { renderAttachments } from './attachments.js';
import { pickEmoji, renderFiles, renderReactions, statusDot } from './post-extras.js';

/** @typedef {import('../types.js').Post} Post */
/** @typedef {import('../model.js').Model} Model */
/** @typedef {import('../plugins.js').PluginHost} PluginHost */
/** A rendered post, with the cleanup of a plugin's component if it has one. @typedef {HTMLElement & {_cleanup?: () => void}} PostElement */

/** The words that mention everyone in a channel, as Mattermost has them. */
const CHANNEL_WIDE = new Set(['channel', 'all', 'here']);

/**
 * Marks the `@` mentions in a rendered body that call the reader (their username, or
 * everyone); answers whether there is one.
 * @param {HTMLElement} body
 * @param {string} username
 */
function highlightMentions(body, username) {
    let found = false;
    /** @type {NodeListOf<HTMLElement>} */ (body.querySelectorAll('span.mention')).forEach((mention) => {
        const name = (mention.dataset.mention || '').replace(/\.+$/, '');
        if (name === username.toLowerCase() || CHANNEL_WIDE.has(name)) {
            mention.classList.add('mention-me');
            found = true;
        }
    });
    return found;
}

/**
 * @param {object} options
 * @param {Model} options.model
 * @param {PluginHost} options.host
 * @param {(rootId: string) => void} options.openThread
 * @param {(message: string) => void} options.showNotice shows an action's failure
 * @param {(post: Post) => void} options.onEdited after an edit was saved (the channel
 *   view keeps a post being edited as it is until then)
 */
export function createPostRenderer({ model, host, openThread, showNotice, onEdited }) {
    /** @type {string | null} the post being edited */
    let editing = null;

    /**
     * @param {Post} post
     * @param {{inThread?: boolean}} [options]
     * @returns {PostElement}
     */
    function render(post, { inThread = false } = {}) {
        const mine = post.user_id === model.me.id;
        const ephemeral = isEphemeral(post);
        /** @type {PostElement} */
        const el = h('article', {
            class: `post${ephemeral ? ' ephemeral' : ''}${post.error ? ' error' : ''}${post.root_id && !inThread ? ' reply' : ''}${mine ? ' mine' : ''}`,
            dataset: { postId: post.id },
            'aria-label': `${ephemeral && !post.user_id ? 'System' : model.userName(post.user_id)} at ${formatTime(post.create_at)}`,
        });
        const head = h('div', { class: 'post-head' },
            post.user_id && !post.local ? statusDot(model, post.user_id) : null,
            h('span', { class: 'author' }, ephemeral && !post.user_id ? 'System' : model.userName(post.user_id)),
            ' ',
            h('time', { datetime: new Date(post.create_at).toISOString(), title: new Date(post.create_at).toLocaleString() }, formatTime(post.create_at)),
            post.edit_at ? h('span', { class: 'edited' }, ' (edited)') : null,
            post.is_pinned ? h('span', { class: 'badge pinned-badge', title: 'Pinned to the channel' }, 'Pinned') : null,
            model.saved.has(post.id) ? h('span', { class: 'badge saved-badge', title: 'In your saved messages' }, 'Saved') : null,
            ephemeral ? h('span', { class: 'only-you' }, ' (only visible to you)') : null,
        );
        el.append(head);
        if (post.root_id && !inThread) {
            const root = model.postsOf(post.channel_id).byId.get(post.root_id);
            const label = root ? `Reply to ${model.userName(root.user_id)}: ${excerpt(root.message)}` : 'Reply in a thread';
            el.append(h('button', { type: 'button', class: 'link-button reply-to', onclick: () => openThread(post.root_id) }, `↪ ${label}`));
        }
        const custom = host.list('postTypeComponent').find((item) => item.type === post.type && post.type);
        const body = h('div', { class: 'post-body' });
        if (custom) {
            try {
                const cleanup = custom.component(body, { post, state: storeState(model) });
                if (typeof cleanup === 'function') {
                    el._cleanup = cleanup;
                }
            } catch (err) {
                console.error(`plugin ${custom.pluginId}: post component failed`, err);
                body.append(renderMarkdown(post.message));
            }
        } else {
            body.append(renderMarkdown(post.message));
            const attachments = renderAttachments(post, { model, showNotice });
            if (attachments) {
                body.append(attachments);
            }
        }
        if (highlightMentions(body, model.me.username) && !mine) {
            el.classList.add('mentions-me');
        }
        el.append(body);
        const files = renderFiles(post);
        if (files) {
            el.append(files);
        }
        const reactions = renderReactions(post, { model, showNotice });
        if (reactions) {
            el.append(reactions);
        }
        if (!inThread && !post.root_id && post.reply_count > 0) {
            el.append(h('button', { type: 'button', class: 'link-button replies', onclick: () => openThread(post.id) },
                post.reply_count === 1 ? '1 reply' : `${post.reply_count} replies`));
        }
        if (!ephemeral) {
            const actions = h('div', { class: 'post-actions', role: 'group', 'aria-label': 'Message actions' });
            if (!inThread || post.root_id === '') {
                if (!inThread) {
                    actions.append(h('button', { type: 'button', class: 'small-button', onclick: () => openThread(post.root_id || post.id) }, 'Reply'));
                }
            }
            if (!post.local) {
                actions.append(h('button', {
                    type: 'button',
                    class: 'small-button',
                    'aria-label': 'Add reaction',
                    onclick: async () => {
                        const name = await pickEmoji(model);
                        if (name) {
                            model.toggleReaction(post, name).catch((err) => showNotice(err.message));
                        }
                    },
                }, 'React'));
            }
            if (!post.local) {
                const saved = model.saved.has(post.id);
                actions.append(
                    h('button', {
                        type: 'button',
                        class: 'small-button',
                        'aria-pressed': saved ? 'true' : 'false',
                        onclick: () => model.setSaved(post.id, !saved).catch((err) => showNotice(err.message)),
                    }, saved ? 'Unsave' : 'Save'),
                    h('button', {
                        type: 'button',
                        class: 'small-button',
                        'aria-pressed': post.is_pinned ? 'true' : 'false',
                        onclick: () => model.setPinned(post, !post.is_pinned).catch((err) => showNotice(err.message)),
                    }, post.is_pinned ? 'Unpin' : 'Pin'),
                    h('button', { type: 'button', class: 'small-button', onclick: () => copyLink(post) }, 'Copy link'),
                );
                if (!mine) {
                    actions.append(h('button', {
                        type: 'button',
                        class: 'small-button',
                        title: 'The channel stays unread from this message on until you open it again',
                        onclick: () => model.markUnread(post).catch((err) => showNotice(err.message)),
                    }, 'Mark unread'));
                }
            }
            if (mine) {
                actions.append(
                    h('button', { type: 'button', class: 'small-button', onclick: () => startEdit(el, post) }, 'Edit'),
                    h('button', { type: 'button', class: 'small-button danger-text', onclick: () => deletePost(post) }, 'Delete'),
                );
            }
            if (actions.childElementCount > 0) {
                el.append(actions);
            }
        }
        return el;
    }

    /** @param {PostElement} el @param {Post} post */
    function startEdit(el, post) {
        const body = el.querySelector('.post-body');
        if (!body || el.querySelector('.edit-form')) {
            return;
        }
        editing = post.id;
        /** @type {HTMLTextAreaElement} */
        const textarea = h('textarea', { class: 'edit-input', rows: '2', 'aria-label': 'Edit message' });
        textarea.value = post.message;
        const error = h('p', { class: 'form-error', role: 'alert' });
        const cancel = () => {
            editing = null;
            form.replaceWith(body);
            /** @type {HTMLElement | null} */ (el.querySelector('.post-actions button'))?.focus();
        };
        const save = async () => {
            const message = textarea.value.trim();
            if (!message) {
                error.textContent = 'A message cannot be empty; use Delete to remove it.';
                return;
            }
            try {
                const updated = await model.editPost(post.id, message);
                editing = null;
                onEdited(updated);
            } catch (err) {
                error.textContent = err.message;
            }
        };
        const form = h('form', { class: 'edit-form', onsubmit: (/** @type {Event} */ event) => { event.preventDefault(); save(); } },
            textarea,
            h('div', { class: 'actions' },
                h('button', { type: 'button', class: 'button', onclick: cancel }, 'Cancel'),
                h('button', { type: 'submit', class: 'button primary' }, 'Save')),
            error,
        );
        textarea.addEventListener('keydown', (event) => {
            if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
                event.preventDefault();
                save();
            } else if (event.key === 'Escape') {
                event.preventDefault();
                event.stopPropagation();
                cancel();
            }
        });
        body.replaceWith(form);
        textarea.focus();
        textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    }

    /** Puts the post's permalink on the clipboard, or shows it where that is refused. @param {Post} post */
    async function copyLink(post) {
        const link = `${location.origin}${permalinkPath(model, post.id)}`;
        try {
            await navigator.clipboard.writeText(link);
            showNotice('Link copied.');
        } catch {
            showNotice(`Link to this message: ${link}`);
        }
    }

    /** @param {Post} post */
    async function deletePost(post) {
        const ok = await confirmDialog('Delete message', 'Delete this message? This cannot be undone.', 'Delete', { danger: true });
        if (!ok) {
            return;
        }
        try {
            await model.deletePost(post);
        } catch (err) {
            showNotice(err.message);
        }
    }

    return {
        render,
        /** Runs a plugin component's cleanup, if the post has one. @param {Element | undefined} el */
        dispose(el) {
            const post = /** @type {PostElement | undefined} */ (el);
            if (post && post._cleanup) {
                try {
                    post._cleanup();
                } catch (err) {
                    console.error(err);
                }
            }
        },
        /** @param {string} postId */
        isEditing: (postId) => editing === postId,
        stopEditing() {
            editing = null;
        },
    };
}

/** @typedef {ReturnType<typeof createPostRenderer>} PostRenderer */
