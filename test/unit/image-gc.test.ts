import { describe, expect, it } from 'vitest';
import { imagesToRemove, inRepository, KEEP_IMAGES } from '../../src/build/image-gc.ts';

const img = (tag: string, created: number) => ({ ref: `localhost:5001/p/api:${tag}`, created });

describe('imagesToRemove', () => {
  it('keeps the newest `keep` images and removes the rest, oldest included', () => {
    const images = [img('a', 1), img('e', 5), img('c', 3), img('b', 2), img('d', 4)];
    expect(imagesToRemove(images, 3)).toEqual(['localhost:5001/p/api:b', 'localhost:5001/p/api:a']);
    expect(imagesToRemove(images.slice(0, 3), 3)).toEqual([]);
    expect(KEEP_IMAGES).toBe(3);
  });

  it('never removes a protected ref, and counts it among the kept', () => {
    // The build cache recreated an old image (old creation time) just now: it stays.
    const images = [img('a', 1), img('b', 2), img('c', 3), img('d', 4)];
    const removed = imagesToRemove(images, 3, new Set(['localhost:5001/p/api:a']));
    expect(removed).toEqual(['localhost:5001/p/api:b']);
    expect(imagesToRemove(images, 0, new Set(['localhost:5001/p/api:a']))).toHaveLength(3);
  });

  it('orders images of the same creation time by ref, so the choice is stable', () => {
    const images = [img('y', 1), img('x', 1)];
    expect(imagesToRemove(images, 1)).toEqual(['localhost:5001/p/api:y']);
  });
});

describe('inRepository', () => {
  it('matches the repository under any registry host, with or without a port', () => {
    expect(inRepository('localhost:5001/shop/api:dev-1', 'shop/api')).toBe(true);
    expect(inRepository('registry.ci.example:443/shop/api:nightly', 'shop/api')).toBe(true);
    expect(inRepository('shop/api:1', 'shop/api')).toBe(true);
  });
  it('does not match another repository, or one that merely ends with the same letters', () => {
    expect(inRepository('localhost:5001/shop/api-old:1', 'shop/api')).toBe(false);
    expect(inRepository('localhost:5001/myshop/api:1', 'shop/api')).toBe(false);
    expect(inRepository('mine/backup:1', 'shop/api')).toBe(false);
  });
});
