// @ts-check
// Owns the small helpers the chat modules (and app.js) share: channel and post addresses, URL
// slugs, excerpts, the store snapshot plugins see, and listener bookkeeping.

/** @typedef {import('../types.js').Channel} Channel */
/** @typedef {import('../model.js').Model} Model */

/** How close to the bottom (px) a list counts as scrolled to the end. */
export const NEAR_BOTTOM_PX = 60;

/** A URL name for a display name: "Project X" -> "project-x". @param {string} text */
export function slugify(text) {
    return text.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
}

/**
 * The address of a channel in the current team.
 * @param {Model} model
 * @param {Channel} channel
 */
export function channelPath(model, channel) {
    const team = model.team;
    if (!team) {
        return '/';
    }
    if (channel.type === 'D') {
        return `/${team.name}/messages/@${model.userName(model.directPartnerId(channel))}`;
    }
    return `/${team.name}/channels/${channel.name}`;
}

/**
 * The address that opens a post in its channel (Mattermost's `/<team>/pl/<post id>`).
 * @param {Model} model
 * @param {string} postId
 */
export function permalinkPath(model, postId) {
    return `/${model.team ? model.team.name : '_'}/pl/${postId}`;
}

/** @param {string} text @param {number} [max] */
export function excerpt(text, max = 60) {
    const flat = String(text || '').replace(/\s+/g, ' ').trim();
    return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * The store snapshot plugins see (store.getState()).
 * @param {Model} model
 * @returns {import('../types.js').StoreState}
 */
export function storeState(model) {
    return {
        currentUser: model.me,
        currentTeam: model.team,
        currentChannel: model.channel,
        currentChannelId: model.currentChannelId,
        currentTeamId: model.teamId,
    };
}

/**
 * A listen(target, type, fn) that records how to stop listening in `cleanups`.
 * @param {Array<() => void>} cleanups
 */
export function listener(cleanups) {
    /**
     * @param {EventTarget} target
     * @param {string} type
     * @param {(event: any) => void} fn
     */
    return (target, type, fn) => {
        target.addEventListener(type, fn);
        cleanups.push(() => target.removeEventListener(type, fn));
    };
}
