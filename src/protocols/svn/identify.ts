import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // svnserve greets with ( success ( minver maxver … ) ) (Subversion's ra_svn protocol).
  greeting: (_b, text) => (/^\( success \( \d+ \d+ /.test(text) ? high('svn') : null),
};
