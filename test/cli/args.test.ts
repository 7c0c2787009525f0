import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import {
  choiceList,
  collect,
  commaList,
  deviceSpec,
  intAtLeast,
  methodOverride,
  nonNegativeInt,
  positiveInt,
  positiveNumber,
  probability,
  tensorIndex,
  uint32,
} from '../../src/cli/args.js';

const rejects = (parse: (v: string) => unknown, value: string, message?: RegExp): void => {
  assert.throws(
    () => parse(value),
    (e: unknown) => e instanceof InvalidArgumentError && (message === undefined || message.test(e.message)),
    `'${value}' is refused`,
  );
};

test('positiveInt: integers ≥ 1; 0, negatives, fractions, words and empty refused, naming the value', () => {
  assert.equal(positiveInt('1'), 1);
  assert.equal(positiveInt('8080'), 8080);
  for (const v of ['0', '-1', '1.5', 'abc', '', ' ', 'Infinity', 'NaN']) rejects(positiveInt, v, /expected a positive integer/);
  rejects(positiveInt, '0', /got '0'/);
});

test('nonNegativeInt: 0 is accepted (train --rank 0), −1 is not', () => {
  assert.equal(nonNegativeInt('0'), 0);
  assert.equal(nonNegativeInt('3'), 3);
  for (const v of ['-1', '0.5', 'x', '']) rejects(nonNegativeInt, v, /expected an integer ≥ 0/);
});

test('intAtLeast: the bound itself is accepted, one below it is not', () => {
  assert.equal(intAtLeast(16)('16'), 16);
  rejects(intAtLeast(16), '15', /≥ 16, got '15'/);
});

test('uint32: 0 and 2³²−1 accepted, 2³² and −1 refused', () => {
  assert.equal(uint32('0'), 0);
  assert.equal(uint32('4294967295'), 0xffffffff);
  for (const v of ['4294967296', '-1', '1.5', '']) rejects(uint32, v, /0…4294967295/);
});

test('positiveNumber and probability: their bounds', () => {
  assert.equal(positiveNumber('0.001'), 0.001);
  assert.equal(positiveNumber('40'), 40);
  for (const v of ['0', '-2', 'Infinity', 'x', '']) rejects(positiveNumber, v, /positive number/);
  assert.equal(probability('0'), 0);
  assert.equal(probability('1'), 1);
  assert.equal(probability('0.5'), 0.5);
  for (const v of ['-0.01', '1.01', 'NaN', '']) rejects(probability, v, /\[0, 1\]/);
});

test('lists: commaList trims and drops empties; choiceList refuses unknown names and an empty list', () => {
  assert.deepEqual(commaList(' a, b,,c '), ['a', 'b', 'c']);
  assert.deepEqual(commaList(''), []);
  const methods = choiceList(['Deepfakes', 'FaceSwap'] as const);
  assert.deepEqual(methods('FaceSwap, Deepfakes'), ['FaceSwap', 'Deepfakes']);
  rejects(methods, 'Deepfakes,Face2Face', /got Face2Face$/);
  rejects(methods, ' , ', /got nothing$/);
});

test('repeatables: collect and tensorIndex keep every occurrence in order', () => {
  assert.deepEqual(collect('b=2', collect('a=1', [])), ['a=1', 'b=2']);
  assert.deepEqual(tensorIndex('0,1,2,3', tensorIndex('0,0,0,0', undefined)), [
    [0, 0, 0, 0],
    [0, 1, 2, 3],
  ]);
  for (const v of ['0,1,2', '0,1,2,-3', '0,1,2,x', '0,1,2,3,4']) rejects((x) => tensorIndex(x, undefined), v, /4 non-negative integers/);
});

test('deviceSpec: auto, cpu, cuda, cuda:N', () => {
  for (const v of ['auto', 'cpu', 'cuda', 'cuda:1']) assert.equal(deviceSpec(v), v);
  for (const v of ['gpu', 'cuda:', 'cuda:x']) rejects(deviceSpec, v);
});

test('--set-method refuses a key path through __proto__, constructor or prototype when it is parsed', () => {
  assert.deepEqual(methodOverride('mvss:model.constrain=false', {}), { mvss: ['model.constrain=false'] });
  for (const v of ['mvss:__proto__.polluted=1', 'hpfcn:model.constructor.prototype.x=1']) {
    assert.throws(
      () => methodOverride(v, {}),
      (e: unknown) => e instanceof InvalidArgumentError && /is refused/.test(e.message),
      v,
    );
  }
});
