"""`advlab tune`: choose a method and its settings for one source -> target pair without
target labels. Optuna searches each method's declared space (advlab.methods, `search_space`)
with short `advlab adapt` trials scored by a label-free validator; EnsV or a validator then
chooses among the finished trials, `source_only` always among them. Optuna is needed by this
command only: nothing here imports it until a study is opened.
"""

# what `advlab tune` searches unless --methods says otherwise (source_only is always added); here,
# away from the torch-importing modules, so that the study's plan can name it too
DEFAULT_METHODS = ("dann", "cdan", "dan", "mdd", "mcc")
