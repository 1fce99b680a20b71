/**
 * Names for containers created without `--name`, in Docker's adjective_surname style
 * (a shorter list than moby's namesgenerator; the shape is what users recognise).
 */
import { randomInt } from 'node:crypto';

const LEFT = [
  'admiring', 'adoring', 'agitated', 'amazing', 'angry', 'awesome', 'bold', 'brave', 'busy', 'charming',
  'clever', 'cool', 'dazzling', 'determined', 'eager', 'ecstatic', 'elastic', 'elegant', 'epic', 'festive',
  'focused', 'friendly', 'funny', 'gallant', 'gifted', 'goofy', 'gracious', 'happy', 'hopeful', 'hungry',
  'inspiring', 'intelligent', 'jolly', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical', 'modest',
  'musing', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic', 'peaceful', 'pedantic', 'pensive',
  'practical', 'quirky', 'relaxed', 'reverent', 'romantic', 'serene', 'sharp', 'silly', 'sleepy', 'stoic',
  'strange', 'sweet', 'tender', 'thirsty', 'trusting', 'upbeat', 'vibrant', 'vigilant', 'wizardly', 'zealous',
];
const RIGHT = [
  'albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bell', 'bhabha', 'borg', 'bose',
  'brahmagupta', 'cerf', 'chandrasekhar', 'curie', 'darwin', 'dijkstra', 'einstein', 'euclid', 'euler', 'fermat',
  'feynman', 'franklin', 'galileo', 'gauss', 'goldberg', 'hamilton', 'hawking', 'heisenberg', 'hopper', 'hypatia',
  'jackson', 'johnson', 'kepler', 'knuth', 'lamarr', 'lamport', 'leakey', 'liskov', 'lovelace', 'mccarthy',
  'meitner', 'mirzakhani', 'morse', 'newton', 'noether', 'pascal', 'pasteur', 'perlman', 'poincare', 'ramanujan',
  'ritchie', 'shannon', 'sinoussi', 'stallman', 'swartz', 'tesla', 'thompson', 'torvalds', 'turing', 'wozniak',
];

/** A random `adjective_surname`. */
export function randomName(): string {
  return `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
}
