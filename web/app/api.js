// @ts-check
// Owns the REST client (only model.js uses it). Cookie authentication (MMAUTHTOKEN, set at login): every request
// carries X-Requested-With, which the server requires of cookie-authenticated writes
// as its CSRF defence. Failures throw ApiError with the server's `message`.

export class ApiError extends Error {
    /**
     * @param {number} status the HTTP status (0: the server was not reached)
     * @param {any} body the parsed answer, if any
     * @param {string} [fallback] the message when the answer has none
     */
    constructor(status, body, fallback) {
        const message = (body && (body.message || body.error)) || fallback || `Request failed (${status})`;
        super(message);
        this.name = 'ApiError';
        this.status = status;
        this.id = (body && body.id) || '';
        this.body = body;
    }
}

/** @type {Set<(error: ApiError) => void>} */
const listeners = new Set();
/** Called with every ApiError of status 401 (the session ended). @param {(error: ApiError) => void} fn */
export function onUnauthorized(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
}

/**
 * fetch() with the CSRF header and credentials; for plugins too (store.fetch).
 * @param {string} url
 * @param {RequestInit} [options]
 */
export function xfetch(url, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set('X-Requested-With', 'XMLHttpRequest');
    return fetch(url, { credentials: 'same-origin', ...options, headers });
}

/** @param {Response} response */
async function parse(response) {
    const text = await response.text();
    if (!text) {
        return null;
    }
    try {
        return JSON.parse(text);
    } catch {
        return { message: text.slice(0, 300) };
    }
}

/**
 * request('GET', '/users/me') → parsed JSON; throws ApiError.
 * @param {string} method
 * @param {string} path under /api/v4
 * @param {unknown} [body] sent as JSON
 * @param {RequestOptions} [options] quiet401: a 401 does not end the session
 * @returns {Promise<any>}
 */
export async function request(method, path, body, { quiet401 = false } = {}) {
    /** @type {RequestInit} */
    const options = { method };
    if (body !== undefined) {
        options.headers = { 'Content-Type': 'application/json' };
        options.body = JSON.stringify(body);
    }
    let response;
    try {
        response = await xfetch(`/api/v4${path}`, options);
    } catch (err) {
        throw new ApiError(0, null, `Cannot reach the server (${err.message}).`);
    }
    const data = await parse(response);
    if (!response.ok) {
        const error = new ApiError(response.status, data, response.statusText);
        if (response.status === 401 && !quiet401) {
            listeners.forEach((fn) => fn(error));
        }
        throw error;
    }
    return data;
}

/** @typedef {{quiet401?: boolean}} RequestOptions */

/** @param {string} path @param {RequestOptions} [opts] */
export const get = (path, opts) => request('GET', path, undefined, opts);
/** @param {string} path @param {unknown} [body] @param {RequestOptions} [opts] */
export const post = (path, body, opts) => request('POST', path, body ?? {}, opts);
/** @param {string} path @param {unknown} [body] @param {RequestOptions} [opts] */
export const put = (path, body, opts) => request('PUT', path, body ?? {}, opts);
/** @param {string} path @param {RequestOptions} [opts] */
export const del = (path, opts) => request('DELETE', path, undefined, opts);

/** "?a=1&b=x" from the parameters that have a value ('' when none). @param {Record<string, unknown>} params */
export function qs(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
        if (value !== undefined && value !== null && value !== '') {
            search.set(key, String(value));
        }
    }
    const text = search.toString();
    return text ? `?${text}` : '';
}

/**
 * Multipart upload with progress (fetch cannot report upload progress).
 * onProgress(fraction 0..1). Resolves with the parsed reply; rejects with ApiError.
 * @param {string} path
 * @param {FormData} formData
 * @param {(fraction: number) => void} [onProgress]
 * @returns {Promise<any>}
 */
export function upload(path, formData, onProgress) {
    return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', `/api/v4${path}`);
        xhr.withCredentials = true;
        xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
        xhr.upload.addEventListener('progress', (event) => {
            if (event.lengthComputable && onProgress) {
                onProgress(event.loaded / event.total);
            }
        });
        xhr.addEventListener('load', () => {
            let data = null;
            try {
                data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
            } catch {
                data = { message: xhr.responseText.slice(0, 300) };
            }
            if (xhr.status >= 200 && xhr.status < 300) {
                if (onProgress) {
                    onProgress(1);
                }
                resolve(data);
            } else {
                reject(new ApiError(xhr.status, data, xhr.statusText));
            }
        });
        xhr.addEventListener('error', () => reject(new ApiError(0, null, 'The upload failed: the connection to the server was lost.')));
        xhr.addEventListener('abort', () => reject(new ApiError(0, null, 'The upload was cancelled.')));
        xhr.send(formData);
    });
}
