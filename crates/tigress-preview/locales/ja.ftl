# 共有されたキーのプレビューページ（日本語）。

shared-with-you = キーが共有されました
kind-label = キーの種類
kind-car = 車のキー
kind-home = 家のキー
kind-access = アクセスキー（ドア、部屋、ロッカーなど）
expires-label = 有効期限
expires-at = { $date } UTC
expires-in-minutes = あと { $count } 分
expires-in-hours = あと { $count } 時間
expires-in-days = あと { $count } 日
details-link = 送信者からの詳細を見る
next-heading = 次にすること
next-phone = キーを保管しているスマートフォンで、このリンクが届いたメッセージから開いてください。あとはウォレットアプリが処理します。
next-phone-app = このリンクを { $app } で開いてください。キーを保管しているスマートフォンで、リンクが届いたメッセージからタップします。
get-app = { $app } をお持ちでない場合は、インストールしてからもう一度リンクをタップしてください：
get-wallet-app = ウォレットアプリをお持ちでない場合は、インストールしてからもう一度リンクをタップしてください：
store-apple = App Store
store-google = Google Play
next-desktop = このリンクはスマートフォンで開いてください。キーはブラウザではなく、キーを保管しているスマートフォンのウォレットアプリで受け取ります。
relay-blind = このキーを中継するサーバーには暗号化されたデータしか見えず、キーを読むことも使うこともできません。それができるのは、リンク全体を開いたデバイスだけです。
