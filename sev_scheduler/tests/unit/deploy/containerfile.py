#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""A Containerfile's stages, and its COPY and RUN lines run on this machine.

No container engine here: each stage's COPY lines copy from the build
context into a directory standing for the image's file system, and its
RUN lines run in bash with every absolute path moved into that directory,
the build arguments given as ``--build-arg`` would give them.
"""

import glob
import os
import re
import shutil
import subprocess

_VARIABLE = re.compile(r'\$\{(\w+)\}|\$(\w+)')
# An absolute path starting a word: what moves into the stand-in root.
_ABSOLUTE = re.compile(r'(?:(?<=\s)|^)/(?!dev/)')


def instructions(text):
    """[(INSTRUCTION, arguments)], continuation lines joined."""
    result, current = [], ''
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith('#')):
            continue
        if stripped.startswith('#'):
            continue
        if stripped.endswith('\\'):
            current += stripped[:-1] + ' '
            continue
        current += stripped
        word, _, rest = current.partition(' ')
        result.append((word.upper(), rest.strip()))
        current = ''
    return result


class Stage:

    def __init__(self, image, name):
        self.image, self.name = image, name
        self.args = {}
        self.steps = []     # (INSTRUCTION, arguments), after FROM


def stages(text):
    """({global ARG: default}, [Stage])."""
    global_args, result = {}, []
    for word, rest in instructions(text):
        if word == 'FROM':
            image, _, name = rest.partition(' AS ')
            result.append(Stage(image.strip(), name.strip() or None))
        elif word == 'ARG':
            name, _, default = rest.partition('=')
            (result[-1].args if result else global_args)[name] = default
        elif result:
            result[-1].steps.append((word, rest))
    return global_args, result


def expand(text, variables):
    def value(match):
        return variables[match.group(1) or match.group(2)]
    return _VARIABLE.sub(value, text)


class Build:
    """Runs the stages' COPY and RUN lines under ``root/<stage>``."""

    def __init__(self, text, context, root, build_args, env):
        self.global_args, self.stages = stages(text)
        self.context, self.root = context, root
        self.build_args, self.env = build_args, env
        self.commands = []      # each RUN line as run

    def stage_root(self, stage):
        return os.path.join(self.root, stage.name or 'final')

    def run(self):
        done = {}
        for stage in self.stages:
            root = self.stage_root(stage)
            os.makedirs(root)
            for word, rest in stage.steps:
                if word == 'ARG':
                    continue
                if word == 'COPY':
                    self._copy(rest, stage, done, root)
                elif word == 'RUN':
                    self._run(rest, stage, root)
                else:
                    raise AssertionError('%s: not run here' % word)
            done[stage.name] = root

    def _variables(self, stage):
        # As in a build: a stage sees only the ARGs it declares (those
        # before the first FROM are for FROM lines), a --build-arg
        # replacing the default.
        return {name: self.build_args.get(name, default)
                for name, default in stage.args.items()}

    def image(self, stage):
        """The image a stage starts FROM, with the build arguments."""
        variables = dict(self.global_args)
        variables.update((name, value) for name, value
                         in self.build_args.items() if name in variables)
        return expand(stage.image, variables)

    def _copy(self, rest, stage, done, root):
        words = expand(rest, self._variables(stage)).split()
        source_root = self.context
        if words[0].startswith('--from='):
            source_root = done[words.pop(0)[len('--from='):]]
        *sources, dest = words
        target = os.path.join(root, dest.lstrip('/'))
        for source in sources:
            path = os.path.join(source_root, source.lstrip('/'))
            if dest.endswith('/'):
                os.makedirs(target, exist_ok=True)
                if os.path.isdir(path):
                    # COPY DIR/ DEST/ copies the directory's contents.
                    shutil.copytree(path, target, dirs_exist_ok=True)
                else:
                    shutil.copy(path, target)
            elif os.path.isdir(path):
                shutil.copytree(path, target)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy(path, target)

    def _run(self, rest, stage, root):
        command = expand(_ABSOLUTE.sub(root + '/', rest),
                         self._variables(stage))
        self.commands.append(command)
        process = subprocess.run(
            ['bash', '-o', 'errexit', '-c', command], env=self.env, cwd=root,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if process.returncode:
            raise AssertionError('RUN %s\nexit status %d:\n%s' % (
                command, process.returncode, process.stdout[-5000:]))

    def files(self, stage_name, pattern):
        return glob.glob(os.path.join(self.root, stage_name, pattern))
