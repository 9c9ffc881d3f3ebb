"""Compiling scripts: RestrictedPython with Baton's stricter policy and tick calls."""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from types import CodeType

from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer

from app.engine.sandbox.budget import SandboxCompileError

# ---------------------------------------------------------------------------------------------
# Script compilation


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(helper, ast.Load()), args=list(args), keywords=[])


_BINOP_HELPERS = {ast.Add: "_add_", ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_",
                  ast.Mod: "_mod_"}


def _tick_stmt() -> ast.stmt:
    return ast.Expr(_call("_tick_"))


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus: size-checked operators and f-strings; no classes; a tick in
    every loop body, function, lambda and comprehension step; and a budget re-check at the start
    of every except and finally block."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        helper = _BINOP_HELPERS.get(type(node.op))
        return node if helper is None else ast.copy_location(_call(helper, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        if not isinstance(node.target, ast.Subscript):
            return super().visit_AugAssign(node)
        target, op = node.target, ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        call = _call("_augitem_", self.visit(target.value), self.visit(target.slice), op,
                     self.visit(node.value))
        return ast.copy_location(ast.Expr(call), node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        spec = node.format_spec or ast.Constant("")
        node.value = _call("_fmt_", node.value, ast.Constant(node.conversion), spec)
        node.conversion, node.format_spec = -1, None
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        node = self.node_contents_visit(node)
        node.body.insert(0, _tick_stmt())
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        node = super().visit_For(node)
        node.body.insert(0, _tick_stmt())
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_stmt())
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        node.body = ast.BoolOp(ast.Or(), [_call("_tick_"), node.body])  # _tick_() returns None
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        node = super().visit_comprehension(node)
        node.ifs.insert(0, ast.UnaryOp(ast.Not(), _call("_tick_")))
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        node = super().visit_Try(node)
        for handler in node.handlers:
            handler.body.insert(0, ast.Expr(_call("_check_")))
        if node.finalbody:
            node.finalbody.insert(0, ast.Expr(_call("_check_")))
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed in scripts")
        return node


_POLICY_ERROR = re.compile(r"Line (\d+): ")


@lru_cache(maxsize=512)
def _compile_script(script: str) -> CodeType:
    tree = ast.parse(script, "<string>", "exec")  # a plain SyntaxError keeps its line number
    errors: list[str] = []
    _ScriptPolicy(errors, [], {}).visit(tree)
    if errors:
        found = _POLICY_ERROR.match(errors[0])
        lineno = int(found.group(1)) if found else 0
        lines = script.splitlines()
        text = lines[lineno - 1] if 0 < lineno <= len(lines) else None
        raise SandboxCompileError("; ".join(errors), ("<string>", lineno, 1, text))
    # Filename '<string>': SpiffWorkflow finds the failing script line by that frame filename.
    return compile(ast.fix_missing_locations(tree), "<string>", "exec")
